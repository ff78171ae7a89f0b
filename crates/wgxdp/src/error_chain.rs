//! An error for a person: the message and each cause after it, `outer: inner: innermost`, as the `String`
//! errors this binary used to build by hand read. A cause whose text the message already ends with (an error
//! type that prints its own source) is not repeated.

/// `error` and its causes in one line.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !cause.is_empty() && !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[derive(Debug, thiserror::Error)]
    #[error("outer says: {0}")]
    struct Echoes(#[source] std::io::Error);

    #[test]
    fn causes_follow_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::AddrInUse, "Address in use");
        let e = Err::<(), _>(io())
            .context("cannot bind UDP port 51820")
            .unwrap_err();
        assert_eq!(describe(&e), "cannot bind UDP port 51820: Address in use");
        // A source the error already prints is not printed twice.
        let e = Err::<(), _>(Echoes(io())).context("start").unwrap_err();
        assert_eq!(describe(&e), "start: outer says: Address in use");
    }
}
