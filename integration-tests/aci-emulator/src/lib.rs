//! ACI emulator.
