//! The kubelet's `$(VAR)` expansion for env values, command, args and `subPathExpr`.
//!
//! Rules (as the kubelet applies them): `$(NAME)` becomes the variable's value when it is
//! defined and stays as written when it is not; `$$` is an escaped `$`; a `$` followed by
//! anything else, or a `$(` that is never closed, is copied unchanged.

/// Expands `input`, looking names up with `lookup`.
pub fn expand<'a>(input: &str, mut lookup: impl FnMut(&str) -> Option<&'a str>) -> String {
    let bytes = input.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.extend_from_slice(&bytes[checkpoint..cursor]);
            let rest = &bytes[cursor + 1..];
            let advance = match rest[0] {
                b'$' => {
                    out.push(b'$');
                    1
                }
                b'(' => match rest.iter().position(|&b| b == b')') {
                    Some(close) => {
                        let name = &input[cursor + 2..cursor + 1 + close];
                        match lookup(name) {
                            Some(value) => out.extend_from_slice(value.as_bytes()),
                            None => {
                                out.extend_from_slice(b"$(");
                                out.extend_from_slice(name.as_bytes());
                                out.push(b')');
                            }
                        }
                        close + 1
                    }
                    None => {
                        out.extend_from_slice(b"$(");
                        1
                    }
                },
                other => {
                    out.push(b'$');
                    out.push(other);
                    1
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.extend_from_slice(&bytes[checkpoint.min(bytes.len())..]);
    // Only whole input slices and whole values were copied, in order, so this is UTF-8.
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_vars(input: &str) -> String {
        expand(input, |name| match name {
            "A" => Some("alpha"),
            "EMPTY" => Some(""),
            _ => None,
        })
    }

    #[test]
    fn defined_variables_are_replaced() {
        assert_eq!(with_vars("x-$(A)-y"), "x-alpha-y");
        assert_eq!(with_vars("$(A)$(A)"), "alphaalpha");
        assert_eq!(with_vars("[$(EMPTY)]"), "[]");
    }

    #[test]
    fn undefined_variables_stay_as_written() {
        assert_eq!(with_vars("$(B) and $(A)"), "$(B) and alpha");
    }

    #[test]
    fn a_double_dollar_escapes_the_reference() {
        assert_eq!(with_vars("$$(A)"), "$(A)");
        assert_eq!(with_vars("$$$(A)"), "$alpha");
        assert_eq!(with_vars("a$$b"), "a$b");
    }

    #[test]
    fn incomplete_or_stray_operators_are_copied() {
        assert_eq!(with_vars("$(A"), "$(A");
        assert_eq!(with_vars("cost $5"), "cost $5");
        assert_eq!(with_vars("end$"), "end$");
        assert_eq!(with_vars("héllo $(A) wörld"), "héllo alpha wörld");
    }

    proptest::proptest! {
        #[test]
        fn text_without_a_dollar_is_unchanged(input in "[^$]{0,40}") {
            proptest::prop_assert_eq!(with_vars(&input), input);
        }

        #[test]
        fn escaped_references_are_never_expanded(name in "[A-Z]{1,8}") {
            let input = format!("$$({name})");
            proptest::prop_assert_eq!(with_vars(&input), format!("$({name})"));
        }
    }
}
