//! Kubernetes resource quantities (`500m`, `2`, `128Mi`, `1G`, `1e3`) as the normalized
//! numbers of the provider API, rounded up.

/// A quantity could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "parsing the quantity `{0}` failed: expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, ...)"
)]
pub struct QuantityError(pub String);

fn split(text: &str) -> Result<(f64, f64), QuantityError> {
    let error = || QuantityError(text.to_owned());
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(digits_end);
    let number: f64 = number.parse().map_err(|_| error())?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0f64.powi(4),
        "Pi" => 1024.0f64.powi(5),
        "Ei" => 1024.0f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => {
            10f64.powi(exponent[1..].parse::<i32>().map_err(|_| error())?)
        }
        _ => return Err(error()),
    };
    if !number.is_finite() || number < 0.0 {
        return Err(error());
    }
    Ok((number, multiplier))
}

#[allow(clippy::cast_possible_truncation)]
fn round_up(value: f64) -> i64 {
    // Small tolerance so 0.1 * 1000 does not become 101.
    let rounded = (value - 1e-9).ceil();
    if rounded >= i64::MAX as f64 { i64::MAX } else { rounded.max(0.0) as i64 }
}

/// CPU in millicores.
pub fn cpu_millis(text: &str) -> Result<i64, QuantityError> {
    let (number, multiplier) = split(text)?;
    Ok(round_up(number * multiplier * 1000.0))
}

/// An amount (bytes, or a count) as an integer.
pub fn amount(text: &str) -> Result<i64, QuantityError> {
    let (number, multiplier) = split(text)?;
    Ok(round_up(number * multiplier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_become_millicores() {
        assert_eq!(cpu_millis("500m"), Ok(500));
        assert_eq!(cpu_millis("2"), Ok(2000));
        assert_eq!(cpu_millis("0.1"), Ok(100));
        assert_eq!(cpu_millis("1.0005"), Ok(1001));
    }

    #[test]
    fn memory_quantities_become_bytes() {
        assert_eq!(amount("1Gi"), Ok(1_073_741_824));
        assert_eq!(amount("1G"), Ok(1_000_000_000));
        assert_eq!(amount("128Mi"), Ok(134_217_728));
        assert_eq!(amount("1e3"), Ok(1000));
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(amount("lots").is_err());
        assert!(amount("12XB").is_err());
        assert!(cpu_millis("-1").is_err());
    }
}
