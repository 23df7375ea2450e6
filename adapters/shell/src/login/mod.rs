//! Login flows.
