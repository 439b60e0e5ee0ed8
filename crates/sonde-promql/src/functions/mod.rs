//! The functions of the language over samples.
