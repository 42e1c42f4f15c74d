//! EDIFACT placeholder
