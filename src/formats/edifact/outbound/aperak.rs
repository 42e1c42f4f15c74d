//! APERAK (application error and acknowledgement), EANCOM D.96A from an
//! [`DocumentType::ApplicationAcknowledgement`](crate::model::DocumentType)
//! document carrying an [`Acknowledgement`].
//!
//! Layout: `BGM+305+<number>+<function>` where the function (1225) is taken
//! from [`Document::function`] when set, else from the acknowledgement
//! status: `29` accepted without amendment, `27` not accepted (rejected or
//! partially accepted), `6` confirmation (received); `DTM+137` when the
//! document has a date; `RFF+ACW:<acknowledged document number>` (from
//! [`Acknowledgement::document_ref`], mandatory) and the other references;
//! `NAD` per party (message sender `MS`, recipient `MR` given as
//! `PartyRole::Other("MR")`); then per issue `ERC+<code>` (the issue code,
//! `ZZZ` mutually defined when it has none) and `FTX+AAO+++<text>`.

use super::common::{self, Ctx};
use crate::formats::edifact::{WriteError, Writer};
use crate::model::{AckStatus, Acknowledgement, Document};

fn function_code(ack: &Acknowledgement) -> &'static str {
    match ack.status {
        AckStatus::Accepted => "29",
        AckStatus::Rejected | AckStatus::PartiallyAccepted => "27",
        AckStatus::Received => "6",
    }
}

/// Writes the APERAK body (the segments between UNH and UNT).
pub fn write_aperak(w: &mut Writer, doc: &Document) -> Result<(), WriteError> {
    let ctx = Ctx::new("APERAK", doc);
    let number = common::require_number(doc, &ctx)?;
    let ack = doc
        .acknowledgement
        .as_ref()
        .ok_or_else(|| ctx.missing("acknowledgement section"))?;
    let acked = ack
        .document_ref
        .as_deref()
        .ok_or_else(|| ctx.missing("acknowledged document number (RFF+ACW)"))?;
    let function = doc
        .function
        .as_ref()
        .map_or_else(|| function_code(ack), |f| f.code());
    common::bgm(
        w,
        doc.document_code.as_deref().unwrap_or("305"),
        number,
        function,
        None,
    );
    if let Some(d) = doc.date("document") {
        common::dtm(w, "137", &d.value, &ctx)?;
    }
    common::dates(w, &doc.dates, &["document"], &ctx)?;
    w.segment("RFF").el("ACW").comp(acked).end();
    common::references(w, &doc.references, &[], &ctx)?;
    common::parties(w, doc, &ctx)?;
    for issue in &ack.issues {
        w.segment("ERC")
            .el(issue.code.as_deref().unwrap_or("ZZZ"))
            .end();
        if let Some(text) = &issue.text {
            common::free_text(w, "AAO", text);
        }
    }
    Ok(())
}
