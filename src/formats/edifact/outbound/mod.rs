//! Canonical documents → EANCOM D.96A messages (placeholder).
