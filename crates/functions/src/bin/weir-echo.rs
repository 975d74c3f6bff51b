//! `weir-echo`: the tiny compiled function of the `chain` benchmark (`cargo bench -p functions
//! --bench chain`). It copies stdin to stdout and does nothing else, so a command function running
//! it costs what weir's process spawn costs (start, pipes, wait, task log) and next to nothing of
//! its own: the event it reads is the result it writes.

fn main() -> std::io::Result<()> {
    std::io::copy(&mut std::io::stdin().lock(), &mut std::io::stdout().lock())?;
    Ok(())
}
