//! `syncgate-origin`: the reference origin CRM. See the library docs and `README.md`.

use std::process::ExitCode;

use syncgate_origin::config::{Command, Options, USAGE};

fn main() -> ExitCode {
    let command = match Options::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("syncgate-origin: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let options = match command {
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Run(options) => options,
    };
    match syncgate_origin::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("syncgate-origin: {message}");
            ExitCode::FAILURE
        }
    }
}
