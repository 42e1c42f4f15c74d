//! Settings of the ERP sinks (`[[sink]] type = "odoo" | "sap" | "webhook"`).
//! The SAP sink's `idoc_sftp` mode reuses the SFTP sink's settings
//! ([`super::SftpSink`]).
//!
//! Secrets are never written in the file: the configuration names the
//! environment variables that hold them (`password_env`, `api_key_env`…).
//! Every field is documented in `config/comptoir.example.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// Odoo external API flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OdooProtocol {
    /// `POST /jsonrpc` (Odoo 8 to 21).
    #[default]
    Jsonrpc,
    /// `/xmlrpc/2/common` and `/xmlrpc/2/object`.
    Xmlrpc,
    /// `POST /json/2/<model>/<method>` with a bearer API key (Odoo 19+).
    Json2,
}

/// Where line prices sent to Odoo come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OdooPrices {
    /// The priced document: list price as `price_unit`, the total discount
    /// percentage as `discount`; falls back to the order's own prices.
    #[default]
    Comptoir,
    /// The order as received: net unit price, no discount.
    Document,
    /// Nothing: Odoo's pricelist computes prices.
    Odoo,
}

/// An Odoo server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OdooSink {
    /// Base URL, e.g. `https://erp.example.com`.
    pub url: String,
    /// Database name.
    pub db: String,
    /// Login (JSON-RPC and XML-RPC).
    #[serde(default)]
    pub login: Option<String>,
    /// Environment variable holding the password or API key.
    pub password_env: String,
    #[serde(default)]
    pub protocol: OdooProtocol,
    /// Odoo major version, 16 to 19.
    #[serde(default = "default_odoo_version")]
    pub version: u32,
    /// `res.partner` fields tried in order to find a party by GLN; `vat`
    /// matches the party's VAT id instead of its GLN.
    #[serde(default = "default_partner_fields")]
    pub partner_fields: Vec<String>,
    /// Create a missing delivery address as a child contact (`type = delivery`).
    #[serde(default)]
    pub create_delivery_addresses: bool,
    /// `product.product` fields tried in order: `barcode` (the GTIN),
    /// `default_code` (the seller's article number).
    #[serde(default = "default_product_fields")]
    pub product_fields: Vec<String>,
    /// Per partner id: buyer article number (or GTIN) → Odoo `default_code`,
    /// tried after `product_fields`.
    #[serde(default)]
    pub product_codes: BTreeMap<String, BTreeMap<String, String>>,
    /// UN/ECE unit code → `uom.uom` name (`PCE = "Units"`); unmapped units
    /// leave the product's unit.
    #[serde(default)]
    pub units: BTreeMap<String, String>,
    #[serde(default)]
    pub prices: OdooPrices,
    /// Call `action_confirm` on new orders.
    #[serde(default = "default_true")]
    pub confirm: bool,
    /// A replacement (BGM 5) of an order already confirmed in Odoo, with
    /// nothing delivered or invoiced, cancels it, sets it back to draft,
    /// rewrites it and confirms it again. Off: such a replacement is held.
    #[serde(default = "default_true")]
    pub replace_confirmed: bool,
    /// Turn supplier invoices and credit notes into draft vendor bills.
    #[serde(default = "default_true")]
    pub vendor_bills: bool,
    /// Calls in flight to this server at most.
    #[serde(default = "default_in_flight")]
    pub max_in_flight: usize,
    /// Per-request timeout.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// How long partner, product and unit ids are cached.
    #[serde(default = "default_ttl")]
    pub cache_ttl_secs: u64,
    /// Immediate retries of a call that hit a serialization failure or lock
    /// timeout before the message is retried later.
    #[serde(default = "default_serialization_retries")]
    pub serialization_retries: u32,
}

fn default_true() -> bool {
    true
}
fn default_odoo_version() -> u32 {
    18
}
fn default_partner_fields() -> Vec<String> {
    vec!["ref".into(), "barcode".into(), "vat".into()]
}
fn default_product_fields() -> Vec<String> {
    vec!["barcode".into(), "default_code".into()]
}
fn default_in_flight() -> usize {
    2
}
fn default_timeout() -> u64 {
    30
}
fn default_ttl() -> u64 {
    300
}
fn default_serialization_retries() -> u32 {
    3
}

impl OdooSink {
    /// Problems with the settings, as (field, message).
    pub fn issues(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(16..=19).contains(&self.version) {
            out.push(("version", format!("{}: supported 16 to 19", self.version)));
        }
        if self.protocol == OdooProtocol::Json2 && self.version < 19 {
            out.push(("protocol", "json2 needs Odoo 19 or later".into()));
        }
        if self.protocol != OdooProtocol::Json2 && self.login.is_none() {
            out.push(("login", "required with jsonrpc and xmlrpc".into()));
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            out.push(("url", format!("{:?}: expected http(s)://…", self.url)));
        }
        if self.max_in_flight == 0 {
            out.push(("max_in_flight", "must be at least 1".into()));
        }
        for f in &self.partner_fields {
            if f.is_empty() || f.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                out.push(("partner_fields", format!("{f:?} is not a field name")));
            }
        }
        for f in &self.product_fields {
            if f != "barcode" && f != "default_code" {
                out.push((
                    "product_fields",
                    format!("{f:?}: expected barcode or default_code"),
                ));
            }
        }
        out
    }
}

/// How the SAP sink delivers.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum SapMode {
    /// IDoc ORDERS05 XML files written into a directory.
    IdocFile { path: PathBuf },
    /// IDoc ORDERS05 XML posted to an HTTP endpoint (SAP PO / Integration Suite).
    IdocHttp {
        url: String,
        #[serde(default)]
        user: Option<String>,
        #[serde(default)]
        password_env: Option<String>,
    },
    /// IDoc ORDERS05 XML files uploaded to a directory on an SFTP server
    /// (written as `.<name>.part`, then renamed).
    IdocSftp(super::SftpSink),
    /// S/4HANA OData v2 `API_SALES_ORDER_SRV` deep insert.
    Odata {
        /// Service root, e.g. `https://s4/sap/opu/odata/sap/API_SALES_ORDER_SRV`.
        url: String,
        /// Basic authentication user (with `password_env`); absent with
        /// `oauth2`.
        #[serde(default)]
        user: Option<String>,
        /// Environment variable holding the basic authentication password.
        #[serde(default)]
        password_env: Option<String>,
        /// OAuth2 client credentials instead of basic authentication.
        #[serde(default)]
        oauth2: Option<OAuth2Config>,
        #[serde(default = "default_order_type")]
        sales_order_type: String,
        sales_organization: String,
        distribution_channel: String,
        organization_division: String,
        /// GLN (or partner id) → SAP sold-to customer number.
        #[serde(default)]
        customers: BTreeMap<String, String>,
        /// GTIN or seller article number → SAP material.
        #[serde(default)]
        materials: BTreeMap<String, String>,
        /// UN/ECE unit code → SAP unit (`PCE = "PC"`).
        #[serde(default)]
        units: BTreeMap<String, String>,
        #[serde(default = "default_timeout")]
        timeout_secs: u64,
    },
}

fn default_order_type() -> String {
    "OR".into()
}

/// OAuth2 client credentials grant (RFC 6749 §4.4): a bearer token is
/// fetched from `token_url` and sent instead of basic authentication.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    /// Token endpoint, e.g. `https://<subdomain>.authentication.<region>.hana.ondemand.com/oauth/token`.
    pub token_url: String,
    pub client_id: String,
    /// Environment variable holding the client secret.
    pub client_secret_env: String,
    /// Space-separated scopes requested (optional).
    #[serde(default)]
    pub scope: Option<String>,
}

impl SapMode {
    /// Problems with the settings, as (field, message).
    pub fn issues(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match self {
            SapMode::IdocFile { .. } => {}
            SapMode::IdocHttp { url, .. } => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    out.push(("url", format!("{url:?}: expected http(s)://…")));
                }
            }
            SapMode::IdocSftp(f) => {
                let server = (&f.host_keys, f.key_file.is_some(), f.password_env.is_some());
                for (field, message) in super::sftp_issues("the SAP idoc_sftp mode", server) {
                    out.push((field.trim_start_matches('.'), message));
                }
                if f.content.is_some() {
                    out.push((
                        "content",
                        "does not apply to the SAP sink (it uploads IDoc XML)".into(),
                    ));
                }
            }
            SapMode::Odata {
                url,
                user,
                password_env,
                oauth2,
                ..
            } => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    out.push(("url", format!("{url:?}: expected http(s)://…")));
                }
                match oauth2 {
                    Some(o) => {
                        if user.is_some() || password_env.is_some() {
                            out.push((
                                "oauth2",
                                "set either oauth2 or user and password_env, not both".into(),
                            ));
                        }
                        if !(o.token_url.starts_with("http://")
                            || o.token_url.starts_with("https://"))
                        {
                            out.push((
                                "oauth2.token_url",
                                format!("{:?}: expected http(s)://…", o.token_url),
                            ));
                        }
                        if o.client_id.is_empty() {
                            out.push(("oauth2.client_id", "must not be empty".into()));
                        }
                    }
                    None => {
                        if user.is_none() || password_env.is_none() {
                            out.push((
                                "user",
                                "OData needs user and password_env (basic authentication) \
                                 or an oauth2 table (client credentials)"
                                    .into(),
                            ));
                        }
                    }
                }
            }
        }
        out
    }
}

/// SAP ERP / S/4HANA.
pub type SapSink = SapMode;

/// An HTTP endpoint receiving canonical JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSink {
    pub url: String,
    /// Environment variable holding the HMAC-SHA256 key.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Header carrying `sha256=<hex>` of the body.
    #[serde(default = "default_signature_header")]
    pub signature_header: String,
    /// Send the priced documents when the route prices.
    #[serde(default = "default_true")]
    pub priced: bool,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_signature_header() -> String {
    "X-Comptoir-Signature".into()
}
