//! Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`) as exact numbers.
//!
//! A quantity is kept as `mantissa × 10^exp10 × 2^exp2`, never as a float, so conversions
//! round exactly as Kubernetes does: up (`0.1m` CPU is 1 millicore).

/// Why a quantity string could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text is not a quantity.
    #[error("`{0}` is not a Kubernetes quantity")]
    Malformed(String),
    /// The value does not fit in 64 bits after scaling.
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// A parsed quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    negative: bool,
    mantissa: u128,
    exp10: i32,
    exp2: u32,
}

impl Quantity {
    /// Parses `<signedNumber><suffix>` as the Kubernetes grammar defines it.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let malformed = || QuantityError::Malformed(text.to_owned());
        let trimmed = text.trim();
        let (negative, rest) = match trimmed.as_bytes().first() {
            Some(b'-') => (true, &trimmed[1..]),
            Some(b'+') => (false, &trimmed[1..]),
            _ => (false, trimmed),
        };
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(malformed());
        }
        let mut mantissa: u128 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(u128::from(digit - b'0')))
                .ok_or_else(|| QuantityError::TooLarge(text.to_owned()))?;
        }
        let fraction_digits = i32::try_from(fraction.len()).map_err(|_| malformed())?;
        let (suffix_exp10, exp2) = suffix_exponents(suffix).ok_or_else(malformed)?;
        Ok(Self { negative, mantissa, exp10: suffix_exp10 - fraction_digits, exp2 })
    }

    /// `ceil(value × 10^scale)` as an integer: scale 3 gives millis, 0 whole units.
    pub fn ceil_scaled(&self, scale: i32, text: &str) -> Result<i64, QuantityError> {
        let too_large = || QuantityError::TooLarge(text.to_owned());
        let mut numerator = self.mantissa;
        numerator = numerator
            .checked_shl(self.exp2)
            .filter(|n| n >> self.exp2 == self.mantissa)
            .ok_or_else(too_large)?;
        let exponent = self.exp10 + scale;
        let (quotient, exact) = if exponent >= 0 {
            let factor = 10u128.checked_pow(exponent.unsigned_abs()).ok_or_else(too_large)?;
            (numerator.checked_mul(factor).ok_or_else(too_large)?, true)
        } else {
            match 10u128.checked_pow(exponent.unsigned_abs()) {
                Some(divisor) => (numerator / divisor, numerator.is_multiple_of(divisor)),
                None => (0, numerator == 0),
            }
        };
        let magnitude = i64::try_from(quotient).map_err(|_| too_large())?;
        Ok(match (self.negative, exact) {
            (false, true) => magnitude,
            (false, false) => magnitude.checked_add(1).ok_or_else(too_large)?,
            (true, _) => -magnitude,
        })
    }
}

fn suffix_exponents(suffix: &str) -> Option<(i32, u32)> {
    let binary = |power: u32| Some((0, power));
    match suffix {
        "" => Some((0, 0)),
        "n" => Some((-9, 0)),
        "u" => Some((-6, 0)),
        "m" => Some((-3, 0)),
        "k" => Some((3, 0)),
        "M" => Some((6, 0)),
        "G" => Some((9, 0)),
        "T" => Some((12, 0)),
        "P" => Some((15, 0)),
        "E" => Some((18, 0)),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        exponent => {
            let digits = exponent.strip_prefix('e').or_else(|| exponent.strip_prefix('E'))?;
            let value: i32 = digits.parse().ok()?;
            (value.abs() <= 100).then_some((value, 0))
        }
    }
}

/// Millicores of a CPU quantity, rounded up.
pub fn cpu_millis(text: &str) -> Result<i64, QuantityError> {
    Quantity::parse(text)?.ceil_scaled(3, text)
}

/// Whole units (bytes, counts) of a quantity, rounded up.
pub fn whole_units(text: &str) -> Result<i64, QuantityError> {
    Quantity::parse(text)?.ceil_scaled(0, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_become_millicores_rounded_up() {
        for (text, millis) in
            [("500m", 500), ("2", 2000), ("0.5", 500), ("1.5", 1500), ("0.1m", 1), ("100u", 1)]
        {
            assert_eq!(cpu_millis(text), Ok(millis), "{text}");
        }
    }

    #[test]
    fn memory_quantities_become_bytes_with_binary_and_decimal_suffixes() {
        for (text, bytes) in [
            ("1Gi", 1_073_741_824),
            ("1G", 1_000_000_000),
            ("1.5Gi", 1_610_612_736),
            ("128974848", 128_974_848),
            ("129e6", 129_000_000),
            ("123Mi", 128_974_848),
            ("1k", 1000),
            ("1Ki", 1024),
            ("1E3", 1000),
            ("2500m", 3),
        ] {
            assert_eq!(whole_units(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn text_that_is_not_a_quantity_is_refused() {
        for text in ["", "abc", "1Xi", "1.2.3", ".", "--1", "1e"] {
            assert!(matches!(whole_units(text), Err(QuantityError::Malformed(_))), "{text}");
        }
    }

    #[test]
    fn values_beyond_64_bits_are_too_large() {
        assert!(matches!(whole_units("100Ei"), Err(QuantityError::TooLarge(_))));
        assert!(matches!(whole_units("1e30"), Err(QuantityError::TooLarge(_))));
    }

    #[test]
    fn negative_quantities_keep_their_sign() {
        assert_eq!(cpu_millis("-1"), Ok(-1000));
    }

    proptest::proptest! {
        #[test]
        fn plain_integers_are_their_own_value(n in 0i64..=i64::MAX / 1000) {
            proptest::prop_assert_eq!(whole_units(&n.to_string()), Ok(n));
            proptest::prop_assert_eq!(cpu_millis(&n.to_string()), Ok(n * 1000));
        }

        #[test]
        fn millis_round_up_to_whole_units(m in 0i64..1_000_000_000) {
            let text = format!("{m}m");
            proptest::prop_assert_eq!(cpu_millis(&text), Ok(m));
            proptest::prop_assert_eq!(whole_units(&text), Ok((m + 999) / 1000));
        }
    }
}
