//! Globus scope strings: parsing, serializing and the common scopes.
