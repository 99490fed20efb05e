//! tessera-render
