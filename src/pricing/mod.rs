//! Client pricing: commercial terms as data, and the engine that applies
//! them to canonical orders and invoices.
//!
//! The pipeline calls this stage after business validation:
//! - [`Terms::load`] reads a terms directory (`config/pricing/`): settings
//!   and VAT in `pricing.toml`, clients and groups in `clients.toml`, rules
//!   in `rules.toml`, and large lists as CSV (`products.csv`,
//!   `price_lists/*.csv`, `net_prices/*.csv`); errors name file, line and
//!   field ([`TermsError`]);
//! - [`TermsHandle`] shares the current terms between workers and reloads
//!   them without a restart, keeping the good terms when a reload fails;
//! - [`price_order`] prices an order, [`invoice_from`] builds an invoice
//!   from an order or a despatch advice; both return a [`PricedDocument`]
//!   (canonical document with pricing fields filled + a [`PricedOrder`]:
//!   per-line trail, VAT breakdown, totals, due date, price-check outcomes
//!   and status);
//! - [`Pricer`] prices order after order reusing its buffers and returns
//!   the [`PricedOrder`] alone (no copy of the canonical document): the
//!   fast path for callers that only need the pricing ([`price_lines`] is
//!   its one-shot form);
//! - [`explain`] renders a priced document as a readable table.
//!
//! Submodules: [`terms`] (raw file shapes), [`load`] (loading and
//! validation), [`catalog`] (compiled, indexed terms), [`engine`]
//! (precedence, tiers, cascades, promotions, rounding, trail), [`vat`],
//! [`payment`], [`check`] (price check), [`credit`], [`explain`], and a
//! private `fixed` (exact integer fast paths for the engine's `Decimal`
//! rounding and products).

pub mod catalog;
pub mod check;
pub mod credit;
pub mod engine;
pub mod explain;
mod fixed;
pub mod load;
pub mod payment;
pub mod terms;
pub mod vat;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub use catalog::{SharedStr, SourceRef, Terms};
pub use check::{CheckOutcome, PriceCheck};
pub use credit::CreditCheck;
pub use engine::{
    invoice_from, price_lines, price_order, AppliedDiscount, AppliedRule, Charge, DocStatus,
    Effect, LineStatus, PricedDocument, PricedLine, PricedOrder, PricedTotals, Pricer,
    PricingError, Reason, ReasonCode, RuleKind, VatBreakdown,
};
pub use explain::{explain, explain_order};
pub use load::TermsError;
pub use vat::{Destination, VatCategory};

/// Shared, reloadable terms: clone it into every worker; [`TermsHandle::get`]
/// is a read lock and an `Arc` clone; [`TermsHandle::reload`] loads the
/// directory again and swaps the terms in only when every file is valid.
#[derive(Debug, Clone)]
pub struct TermsHandle {
    dir: PathBuf,
    current: Arc<RwLock<Arc<Terms>>>,
}

impl TermsHandle {
    /// Loads the terms of `dir`.
    pub fn load(dir: &Path) -> Result<TermsHandle, TermsError> {
        let terms = Terms::load(dir)?;
        Ok(TermsHandle {
            dir: dir.to_path_buf(),
            current: Arc::new(RwLock::new(Arc::new(terms))),
        })
    }

    /// The terms in force.
    pub fn get(&self) -> Arc<Terms> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Reloads the directory. On error the current terms stay in force and
    /// the error is returned.
    pub fn reload(&self) -> Result<Arc<Terms>, TermsError> {
        let fresh = Arc::new(Terms::load(&self.dir)?);
        match self.current.write() {
            Ok(mut g) => *g = Arc::clone(&fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::clone(&fresh),
        }
        Ok(fresh)
    }

    /// The directory the terms are loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
