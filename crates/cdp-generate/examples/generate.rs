//! `cargo run --release -p cdp-generate --example generate -- OUT_DIR PERSONS SEED`:
//! writes a world without the `cdp` binary (timing runs, quick looks).

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "world".into());
    let persons = args.next().and_then(|s| s.parse().ok()).unwrap_or(50_000);
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(42);
    let config = cdp_generate::WorldConfig {
        persons,
        seed,
        ..Default::default()
    };
    match cdp_generate::generate(&config, std::path::Path::new(&out)) {
        Ok(summary) => println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("serialises")
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
