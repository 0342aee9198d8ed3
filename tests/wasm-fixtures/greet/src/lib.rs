//! Exports `arca:hello/greet@0.1.0`.

wit_bindgen::generate!({ path: "wit", world: "hello" });

struct Greet;

impl exports::arca::hello::greet::Guest for Greet {
    fn hello(name: String) -> String {
        format!("hello, {name}")
    }
}

export!(Greet);
