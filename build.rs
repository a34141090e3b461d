// Rebuild when a migration is added: embed_migrations! only tracks the files it saw.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
