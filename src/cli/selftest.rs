pub fn run() -> anyhow::Result<()> {
    println!("{}", crate::selftest::selftest_report()?);
    Ok(())
}
