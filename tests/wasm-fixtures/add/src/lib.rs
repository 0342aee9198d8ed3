//! `add(a, b)`: a core module with one exported function and no imports.

/// The sum of `a` and `b`, wrapping.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}
