fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bench") {
        std::process::exit(weir_bench::run(args[1..].to_vec()));
    }
    eprintln!("weir: not implemented yet");
    std::process::exit(2);
}
