//! Prints a greeting: a core WebAssembly module for wasip1.

fn main() {
    println!("hello from a core module");
}
