//! Kubernetes resource quantities (`500m`, `1.5Gi`, `129e6`), parsed exactly as the apiserver
//! parses them.
//!
//! # Upstream
//!
//! This module follows kubernetes/apimachinery, `pkg/api/resource/` (also vendored in
//! kubernetes/kubernetes under `staging/src/k8s.io/apimachinery/pkg/api/resource/`):
//!
//! - `quantity.go`: the grammar in the doc comment of `Quantity`, the hand-written scanner
//!   `parseQuantityString`, `ParseQuantity` (rounding to nano-units, the cap of binary quantities),
//!   `Value`, `MilliValue`, `ScaledValue` and `CanonicalizeBytes` (the canonical string form),
//!   `UnmarshalJSON` (surrounding whitespace is trimmed before parsing);
//! - `suffix.go`: the suffix table (`newSuffixer`, `fastLookup.interpret`,
//!   `suffixHandler.interpret`);
//! - `math.go`: `negativeScaleInt64`, the rounding used by `Value` and `MilliValue`;
//! - the reference page <https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/>.
//!
//! The grammar (from `quantity.go`):
//!
//! ```text
//! <quantity>        ::= <signedNumber><suffix>
//! <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//! <signedNumber>    ::= <number> | <sign><number>
//! <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//! <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//! <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
//! <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
//! ```
//!
//! (The scanner only accepts an integer after `e`/`E`, `[+-]?[0-9]+`, that fits in 32 bits.)
//!
//! # Semantics, as upstream
//!
//! - **Exact.** A [`Quantity`] is kept as `sign * mantissa * 10^exp10`, never as a float.
//! - **Rounded to nano-units when parsed.** Non-zero digits finer than `1n` (10^-9) round the
//!   value away from zero to the next nano-unit: `"0.9n"` is `1n`, `"3.001n"` is `4n`,
//!   `"0.000000000001Ki"` is `2n` (`ParseQuantity`, `amount.Round(.., Nano, inf.RoundUp)`).
//! - **Binary quantities are capped** at 2^63-1 in magnitude, silently: `"8Ei"` and
//!   `"9223372036854775807Ki"` are 2^63-1. Decimal quantities are not capped (`"1e30"` parses,
//!   but its [`Quantity::value`] overflows).
//! - **Conversions round up in magnitude.** [`Quantity::value`] and [`Quantity::milli_value`]
//!   round a fraction away from zero: `"100m"` is 1 unit, `"0.1m"` is 1 milli-unit, and `"-1.5"`
//!   is -2 units. This is upstream's `int64Amount` path (`negativeScaleInt64`: "the value
//!   returned, if not exact, is rounded away from zero"), which is what parsed quantities use;
//!   see [`Quantity::scaled_value`] for upstream's inconsistent `inf.Dec` path.
//!   Where upstream silently overflows an `int64`, kubesim returns [`QuantityError::Overflow`].
//!
//! # Deliberate differences from upstream
//!
//! - Surrounding whitespace is trimmed, as `Quantity.UnmarshalJSON` does when a manifest is
//!   decoded (`ParseQuantity` itself rejects `" 1"`); whitespace inside is an error.
//! - A quantity must contain at least one digit, as the documented grammar says. Upstream's
//!   scanner is laxer than its own grammar and parses `"-"`, `"+"`, `"."`, `"m"`, `"Ki"` and
//!   `"e3"` as zero; kubesim reports them as errors because they are always typos.
//! - More than 38 significant digits (after rounding to nano-units) is
//!   [`QuantityError::Overflow`]; upstream keeps arbitrary precision, but such a value could
//!   not be used by the simulator anyway (it is at least 10^29).

use std::cmp::Ordering;
use std::fmt;

/// What a valid quantity looks like, appended to every parse error.
const EXPECTED: &str = "expected a number with an optional suffix: n, u, m, k, M, G, T, P, E, \
                        Ki, Mi, Gi, Ti, Pi, Ei or e<exp> (e.g. \"500m\", \"1.5Gi\", \"129e6\")";

/// Nano-units per unit.
const NANO: u128 = 1_000_000_000;

/// The magnitude cap of a binarySI quantity, 2^63-1 units, in nano-units.
const BINARY_CAP_NANOS: u128 = (i64::MAX as u128) * NANO;

/// How a quantity was written, which decides how [`Quantity`]'s `Display` writes it back
/// (upstream's `Format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuantityFormat {
    /// Powers of ten with SI suffixes: `n u m "" k M G T P E` (e.g. `"500m"`, `"12M"`).
    DecimalSI,
    /// Powers of two: `Ki Mi Gi Ti Pi Ei` (e.g. `"512Mi"`).
    BinarySI,
    /// Powers of ten with an explicit exponent (e.g. `"129e6"`).
    DecimalExponent,
}

/// A Kubernetes resource quantity, exact: `sign * mantissa * 10^exp10`, with at most nine
/// decimal places (nano-units), plus the [`QuantityFormat`] it was written in.
///
/// Equality and ordering compare values only, as upstream's `Cmp` does: `"1Gi" == "1073741824"`
/// and `"1000m" == "1"`; the format only affects `Display`.
#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    /// True for values below zero (never for zero).
    negative: bool,
    /// Significant digits without trailing zeros (0 only for the value zero).
    mantissa: u128,
    /// Decimal exponent; at least -9 (nano-units), 0 for the value zero.
    exp10: i64,
    /// How to write the value back.
    format: QuantityFormat,
}

/// An error from parsing or converting a [`Quantity`]. Messages name the input and say what was
/// expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The input was empty (or only whitespace).
    #[error("empty quantity: {}", EXPECTED)]
    Empty,
    /// The number part is malformed (no digits, two signs, two decimal points, whitespace, ...).
    #[error("invalid quantity {input:?}: {reason}; {}", EXPECTED)]
    InvalidFormat {
        /// The text as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The suffix after the number is not one Kubernetes knows.
    #[error("invalid quantity {input:?}: unknown suffix {suffix:?}{}; {}", hint(.suggestion.as_deref()), EXPECTED)]
    InvalidSuffix {
        /// The text as given.
        input: String,
        /// The unknown suffix.
        suffix: String,
        /// A likely fix, e.g. `did you mean "G" or "Gi"?`.
        suggestion: Option<String>,
    },
    /// The value does not fit where it is needed (an `i64` of units or milli-units, or 38
    /// significant digits).
    #[error("quantity {quantity:?} is out of range: {reason}")]
    Overflow {
        /// The quantity (as given, or in canonical form).
        quantity: String,
        /// What it did not fit into.
        reason: String,
    },
}

/// Formats an optional suggestion as ` (suggestion)`.
fn hint(suggestion: Option<&str>) -> String {
    suggestion.map(|s| format!(" ({s})")).unwrap_or_default()
}

/// What a suffix means.
#[derive(Clone, Copy)]
enum Suffix {
    /// Times 10^exp.
    Decimal(i32),
    /// Times 2^exp.
    Binary(u32),
}

/// Interprets a suffix as upstream's `quantitySuffixer.interpret` does (`suffix.go`), rejecting
/// decimal exponents that do not fit in 32 bits as the newest upstream does
/// (`TestDecimalExponentEdgeCases` in `suffix_test.go`).
fn interpret_suffix(s: &str) -> Option<(Suffix, QuantityFormat)> {
    use QuantityFormat::*;
    let r = match s {
        "" => (Suffix::Decimal(0), DecimalSI),
        "n" => (Suffix::Decimal(-9), DecimalSI),
        "u" => (Suffix::Decimal(-6), DecimalSI),
        "m" => (Suffix::Decimal(-3), DecimalSI),
        "k" => (Suffix::Decimal(3), DecimalSI),
        "M" => (Suffix::Decimal(6), DecimalSI),
        "G" => (Suffix::Decimal(9), DecimalSI),
        "T" => (Suffix::Decimal(12), DecimalSI),
        "P" => (Suffix::Decimal(15), DecimalSI),
        "E" => (Suffix::Decimal(18), DecimalSI),
        "Ki" => (Suffix::Binary(10), BinarySI),
        "Mi" => (Suffix::Binary(20), BinarySI),
        "Gi" => (Suffix::Binary(30), BinarySI),
        "Ti" => (Suffix::Binary(40), BinarySI),
        "Pi" => (Suffix::Binary(50), BinarySI),
        "Ei" => (Suffix::Binary(60), BinarySI),
        _ => {
            let rest = s.strip_prefix(['e', 'E'])?;
            // Go's strconv.ParseInt(.., 10, ..): optional sign, ASCII digits only; so is Rust's.
            (Suffix::Decimal(rest.parse::<i32>().ok()?), DecimalExponent)
        }
    };
    Some(r)
}

/// Parses a quantity as the apiserver does when it decodes a manifest (see the module docs for
/// the grammar, the rounding and the few deliberate differences).
///
/// ```
/// use kubesim::scenario::quantity::parse_quantity;
/// assert_eq!(parse_quantity("500m").unwrap().milli_value().unwrap(), 500);
/// assert_eq!(parse_quantity("1.5Gi").unwrap().value().unwrap(), 1_610_612_736);
/// assert!(parse_quantity("1.5GB").is_err());
/// ```
pub fn parse_quantity(input: &str) -> Result<Quantity, QuantityError> {
    // Quantity.UnmarshalJSON: `ParseQuantity(strings.TrimSpace(..))`.
    let s = input.trim();
    if s.is_empty() {
        return Err(QuantityError::Empty);
    }
    if s.chars().any(char::is_whitespace) {
        return Err(invalid(
            input,
            format!(
                "whitespace is not allowed inside a quantity (did you mean {:?}?)",
                s.split_whitespace().collect::<String>()
            ),
        ));
    }
    let b = s.as_bytes();
    let mut pos = 0;
    let mut negative = false;
    match b[0] {
        b'-' => {
            negative = true;
            pos = 1;
        }
        b'+' => pos = 1,
        _ => {}
    }
    if pos < b.len() && matches!(b[pos], b'+' | b'-') {
        return Err(invalid(input, "more than one sign".to_string()));
    }
    let int_start = pos;
    while pos < b.len() && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let int_digits = &b[int_start..pos];
    let mut frac_digits: &[u8] = &[];
    if pos < b.len() && b[pos] == b'.' {
        pos += 1;
        let frac_start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        frac_digits = &b[frac_start..pos];
    }
    // `pos` only moved over ASCII bytes, so it is a char boundary.
    let suffix = &s[pos..];
    if int_digits.is_empty() && frac_digits.is_empty() {
        let reason = if suffix.is_empty() {
            "no digits".to_string()
        } else if interpret_suffix(suffix).is_some() {
            format!("the suffix {suffix:?} needs a number before it, e.g. \"1{suffix}\"")
        } else {
            let c = suffix.chars().next().unwrap_or(' ');
            format!("expected a number, found {c:?}")
        };
        return Err(invalid(input, reason));
    }
    let Some((kind, format)) = interpret_suffix(suffix) else {
        return Err(suffix_error(input, suffix));
    };
    let digits = Digits::new(int_digits, frac_digits);
    match kind {
        Suffix::Decimal(exp) => decimal_value(input, negative, &digits, exp, format),
        Suffix::Binary(bits) => Ok(binary_value(negative, &digits, bits)),
    }
}

/// Builds an [`QuantityError::InvalidFormat`].
fn invalid(input: &str, reason: String) -> QuantityError {
    QuantityError::InvalidFormat {
        input: input.to_string(),
        reason,
    }
}

/// The error for a suffix that [`interpret_suffix`] rejected, with the most helpful reason.
fn suffix_error(input: &str, suffix: &str) -> QuantityError {
    let mut chars = suffix.chars();
    let first = chars.next().unwrap_or(' ');
    let rest = chars.as_str();
    match first {
        '.' => return invalid(input, "more than one decimal point".to_string()),
        ',' => return invalid(input, "use '.' as the decimal point, not ','".to_string()),
        '+' | '-' => {
            return invalid(
                input,
                "a sign may only appear at the start, or right after the e/E of an exponent"
                    .to_string(),
            );
        }
        'e' | 'E' => {
            let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if !unsigned.is_empty() && unsigned.bytes().all(|c| c.is_ascii_digit()) {
                return invalid(
                    input,
                    format!("the exponent in {suffix:?} does not fit in a 32-bit integer"),
                );
            }
            if !unsigned.is_empty() && unsigned.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
                return invalid(
                    input,
                    format!("the exponent in {suffix:?} must be a whole number"),
                );
            }
            if unsigned.is_empty() {
                return QuantityError::InvalidSuffix {
                    input: input.to_string(),
                    suffix: suffix.to_string(),
                    suggestion: Some(format!(
                        "an exponent needs digits, e.g. \"{first}3\" for 10^3"
                    )),
                };
            }
        }
        _ => {}
    }
    QuantityError::InvalidSuffix {
        input: input.to_string(),
        suffix: suffix.to_string(),
        suggestion: suggest_suffix(suffix),
    }
}

/// Guesses the suffix meant by a wrong one: `GB` -> `G` or `Gi`, `ki` -> `Ki`, `KiB` -> `Ki`.
fn suggest_suffix(suffix: &str) -> Option<String> {
    // Strip a byte marker: "GB", "GiB", "kb".
    let core = if suffix.len() > 1 {
        suffix.strip_suffix(['B', 'b']).unwrap_or(suffix)
    } else {
        suffix
    };
    if core.is_empty() || core == "B" || core == "b" {
        return Some("plain numbers are bytes: write no suffix".to_string());
    }
    let mut chars = core.chars();
    let first = chars.next()?;
    let rest = chars.as_str();
    let binary_only = rest == "i" || rest == "I";
    if !(rest.is_empty() || binary_only) {
        return None;
    }
    let (decimal, binary) = match first {
        'k' | 'K' => ("k", "Ki"),
        'm' | 'M' => ("M", "Mi"),
        'g' | 'G' => ("G", "Gi"),
        't' | 'T' => ("T", "Ti"),
        'p' | 'P' => ("P", "Pi"),
        'e' | 'E' => ("E", "Ei"),
        'n' | 'N' if rest.is_empty() => return Some("did you mean \"n\"?".to_string()),
        'u' | 'U' | '\u{b5}' | '\u{3bc}' if rest.is_empty() => {
            return Some("did you mean \"u\"?".to_string());
        }
        _ => return None,
    };
    if binary_only {
        Some(format!("did you mean {binary:?}?"))
    } else {
        Some(format!("did you mean {decimal:?} or {binary:?}?"))
    }
}

/// The significant digits of a number: `value = sig * 10^exp`, `sig` without leading or
/// trailing zeros (empty for zero).
struct Digits {
    /// Digit values 0..=9, most significant first.
    sig: Vec<u8>,
    /// The power of ten of the last digit of `sig`.
    exp: i64,
}

impl Digits {
    /// Splits `int.frac` into significant digits and an exponent.
    fn new(int: &[u8], frac: &[u8]) -> Digits {
        let all: Vec<u8> = int.iter().chain(frac).map(|c| c - b'0').collect();
        let Some(first) = all.iter().position(|&d| d != 0) else {
            return Digits {
                sig: Vec::new(),
                exp: 0,
            };
        };
        let last = all.iter().rposition(|&d| d != 0).unwrap_or(first);
        let trailing = (all.len() - 1 - last) as i64;
        Digits {
            sig: all[first..=last].to_vec(),
            exp: trailing - frac.len() as i64,
        }
    }

    /// The power of ten of the most significant digit (only for non-zero values).
    fn top(&self) -> i64 {
        self.exp + self.sig.len() as i64 - 1
    }
}

/// The digits as an integer, or `None` if it does not fit in a `u128`.
fn digits_to_u128(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u128::from(d))
    })
}

/// A decimal (SI or exponent) quantity: exact, rounded away from zero to nano-units.
fn decimal_value(
    input: &str,
    negative: bool,
    digits: &Digits,
    exp: i32,
    format: QuantityFormat,
) -> Result<Quantity, QuantityError> {
    if digits.sig.is_empty() {
        return Ok(Quantity::zero(format));
    }
    let too_long = || QuantityError::Overflow {
        quantity: input.to_string(),
        reason: "more than 38 significant digits".to_string(),
    };
    let e = digits.exp + i64::from(exp);
    if e >= -9 {
        let mantissa = digits_to_u128(&digits.sig).ok_or_else(too_long)?;
        return Ok(Quantity::normalized(negative, mantissa, e, format));
    }
    // Digits below 10^-9 are cut and round the rest up (they are non-zero: `sig` has no
    // trailing zeros).
    let cut = (-9 - e) as u64;
    let keep = (digits.sig.len() as u64).saturating_sub(cut) as usize;
    let kept = digits_to_u128(&digits.sig[..keep]).ok_or_else(too_long)?;
    let mantissa = kept.checked_add(1).ok_or_else(too_long)?;
    Ok(Quantity::normalized(negative, mantissa, -9, format))
}

/// A binary (Ki..Ei) quantity: `digits * 2^bits`, rounded away from zero to nano-units, with
/// the magnitude capped at 2^63-1 as upstream does.
fn binary_value(negative: bool, digits: &Digits, bits: u32) -> Quantity {
    if digits.sig.is_empty() {
        return Quantity::zero(QuantityFormat::BinarySI);
    }
    let top = digits.top();
    let nanos = if top >= 19 {
        // At least 10^19 > 2^63-1 before the factor 2^bits.
        BINARY_CAP_NANOS
    } else if top + 20 <= -9 {
        // Below 10^(top+1) * 2^60 < 10^(top+20) <= 10^-9: one nano-unit after rounding up.
        1
    } else {
        binary_nanos(digits, bits).map_or(BINARY_CAP_NANOS, |n| n.min(BINARY_CAP_NANOS))
    };
    // ParseQuantity: a binary quantity between -1 and 1 (exclusive) switches to DecimalSI.
    let format = if nanos < NANO {
        QuantityFormat::DecimalSI
    } else {
        QuantityFormat::BinarySI
    };
    Quantity::normalized(negative, nanos, -9, format)
}

/// `ceil(digits * 2^bits * 10^9)` exactly, for `-28 <= top <= 18`; `None` when it overflows a
/// `u128` (and so exceeds the cap).
fn binary_nanos(digits: &Digits, bits: u32) -> Option<u128> {
    let top = digits.top();
    let low = digits.exp.max(-9);
    // The head: digits at 10^-9 and above, an exact integer number of nano-units.
    let head = if top >= -9 {
        let count = (top - low + 1) as usize;
        digits_to_u128(&digits.sig[..count])? * 10u128.pow((low + 9) as u32)
    } else {
        0
    };
    // The tail: digits below 10^-9, a fraction of a nano-unit, as decimal digits of
    // 0.t1t2t3... Multiplying it by 2^bits one doubling at a time gives the integer part
    // exactly and tells whether a remainder is left.
    let mut tail_int: u128 = 0;
    if digits.exp < -9 {
        let len = (-9 - digits.exp) as usize;
        let mut tail = vec![0u8; len];
        for (i, d) in tail.iter_mut().enumerate() {
            // Position of this tail digit: -10 - i.
            let position = -10 - i as i64;
            if position <= top {
                *d = digits.sig[(top - position) as usize];
            }
        }
        for _ in 0..bits {
            let mut carry = 0u8;
            for d in tail.iter_mut().rev() {
                let x = *d * 2 + carry;
                *d = x % 10;
                carry = x / 10;
            }
            tail_int = tail_int * 2 + u128::from(carry);
        }
        if tail.iter().any(|&d| d != 0) {
            tail_int += 1;
        }
    }
    head.checked_mul(1u128 << bits)?.checked_add(tail_int)
}

impl Quantity {
    /// Zero in the given format.
    fn zero(format: QuantityFormat) -> Quantity {
        Quantity {
            negative: false,
            mantissa: 0,
            exp10: 0,
            format,
        }
    }

    /// `sign * mantissa * 10^exp10` with trailing zeros moved into the exponent.
    fn normalized(
        negative: bool,
        mut mantissa: u128,
        mut exp10: i64,
        format: QuantityFormat,
    ) -> Quantity {
        if mantissa == 0 {
            return Quantity::zero(format);
        }
        while mantissa.is_multiple_of(10) {
            mantissa /= 10;
            exp10 += 1;
        }
        Quantity {
            negative,
            mantissa,
            exp10,
            format,
        }
    }

    /// A whole number of units, written in DecimalSI (upstream's `NewQuantity(v, DecimalSI)`).
    /// This is what an unquoted YAML integer such as `cpu: 2` means.
    pub fn from_i64(units: i64) -> Quantity {
        Quantity::normalized(
            units < 0,
            u128::from(units.unsigned_abs()),
            0,
            QuantityFormat::DecimalSI,
        )
    }

    /// A whole number of units (unsigned), written in DecimalSI.
    pub fn from_u64(units: u64) -> Quantity {
        Quantity::normalized(false, u128::from(units), 0, QuantityFormat::DecimalSI)
    }

    /// A number of milli-units, written in DecimalSI (upstream's `NewMilliQuantity`), e.g.
    /// `from_milli(500)` is `500m`.
    pub fn from_milli(millis: i64) -> Quantity {
        Quantity::normalized(
            millis < 0,
            u128::from(millis.unsigned_abs()),
            -3,
            QuantityFormat::DecimalSI,
        )
    }

    /// The value in milli-units (`ceil(q * 1000)` in magnitude: fractions round away from
    /// zero), as upstream's `MilliValue`: `"0.1m"` -> 1, `"1.5"` -> 1500, `"500m"` -> 500,
    /// `"1e3"` -> 1_000_000. [`QuantityError::Overflow`] if it does not fit in an `i64`.
    pub fn milli_value(&self) -> Result<i64, QuantityError> {
        self.scaled_value(-3)
    }

    /// The value in whole units, fractions rounded away from zero, as upstream's `Value`:
    /// `"1.5Gi"` -> 1610612736, `"0.5Gi"` -> 536870912, `"100m"` -> 1, `"1e3"` -> 1000,
    /// `"1k"` -> 1000, `"129e6"` -> 129000000, `"-1.5"` -> -2. [`QuantityError::Overflow`] if
    /// it does not fit in an `i64`.
    pub fn value(&self) -> Result<i64, QuantityError> {
        self.scaled_value(0)
    }

    /// The value in units of 10^`scale` (scale -9 is nano-units, -3 milli-units, 0 units, 3
    /// kilo-units), fractions rounded away from zero; [`QuantityError::Overflow`] if it does not
    /// fit in an `i64`.
    ///
    /// Upstream's `ScaledValue` rounds the same way for quantities held as `int64Amount`
    /// (`negativeScaleInt64` in `math.go`), which covers decimal quantities of up to 18 digits
    /// and integer binary ones. For quantities held as `inf.Dec` (e.g. a fractional binary
    /// quantity such as `"-1.1Ki"`), upstream's `scaledValue` (`scale_int.go`) computes
    /// Go-truncating division plus one, which for negative values is neither ceiling nor away
    /// from zero (`"-1.1Ki".Value()` is -1125 upstream, where -1127 is away from zero). kubesim
    /// rounds all quantities away from zero; only negative fractional values differ.
    pub fn scaled_value(&self, scale: i32) -> Result<i64, QuantityError> {
        if self.mantissa == 0 {
            return Ok(0);
        }
        let shift = self.exp10 - i64::from(scale);
        let magnitude = if shift >= 0 {
            u32::try_from(shift)
                .ok()
                .and_then(|s| 10u128.checked_pow(s))
                .and_then(|p| self.mantissa.checked_mul(p))
        } else {
            match u32::try_from(-shift)
                .ok()
                .and_then(|s| 10u128.checked_pow(s))
            {
                Some(p) => Some(self.mantissa / p + u128::from(!self.mantissa.is_multiple_of(p))),
                // 10^-shift exceeds the mantissa: a non-zero fraction below one unit.
                None => Some(1),
            }
        };
        let fits = magnitude.and_then(|m| {
            if self.negative {
                (m <= 1u128 << 63).then(|| (m as i128).wrapping_neg() as i64)
            } else {
                i64::try_from(m).ok()
            }
        });
        fits.ok_or_else(|| QuantityError::Overflow {
            quantity: self.to_string(),
            reason: match scale {
                0 => "its value in units does not fit in a 64-bit integer".to_string(),
                -3 => "its value in milli-units does not fit in a 64-bit integer".to_string(),
                -9 => "its value in nano-units does not fit in a 64-bit integer".to_string(),
                _ => format!("its value in units of 10^{scale} does not fit in a 64-bit integer"),
            },
        })
    }

    /// True if the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// True if the value is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// The format the quantity was written in (decides `Display`).
    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    /// The value as the nearest `f64` (for reports and ratios; never for bookkeeping).
    pub fn as_f64(&self) -> f64 {
        // Rust's float parser rounds correctly, so this is the nearest f64 to the exact value.
        let magnitude: f64 = format!("{}e{}", self.mantissa, self.exp10)
            .parse()
            .unwrap_or(f64::INFINITY);
        if self.negative { -magnitude } else { magnitude }
    }

    /// -1, 0 or 1.
    fn signum(&self) -> i8 {
        match (self.mantissa, self.negative) {
            (0, _) => 0,
            (_, true) => -1,
            (_, false) => 1,
        }
    }
}

/// Converts a YAML/JSON float (an unquoted `cpu: 0.5`) to a quantity with the same value as
/// the text the user wrote: upstream receives such a number as JSON text and parses that text
/// (`UnmarshalJSON`), and Go's encoder writes the shortest decimal that reads back as the same
/// `f64`, as Rust's `Display` does. So `0.1` is exactly `100m`, not 0.1000000000000000055...
/// Errors for NaN and infinities.
pub fn quantity_from_f64(v: f64) -> Result<Quantity, QuantityError> {
    if !v.is_finite() {
        return Err(invalid(&v.to_string(), "not a finite number".to_string()));
    }
    parse_quantity(&format!("{v}"))
}

/// Magnitude comparison of two non-zero quantities.
fn cmp_magnitude(a: &Quantity, b: &Quantity) -> Ordering {
    let order = |q: &Quantity| q.exp10 + i64::from(q.mantissa.ilog10());
    match order(a).cmp(&order(b)) {
        Ordering::Equal => {}
        other => return other,
    }
    // Same order of magnitude: the exponents differ by the difference in digit counts (< 40).
    let shifted_cmp = |hi: &Quantity, lo: &Quantity| {
        let shift = (hi.exp10 - lo.exp10) as u32;
        match 10u128
            .checked_pow(shift)
            .and_then(|p| hi.mantissa.checked_mul(p))
        {
            Some(x) => x.cmp(&lo.mantissa),
            None => Ordering::Greater,
        }
    };
    if a.exp10 >= b.exp10 {
        shifted_cmp(a, b)
    } else {
        shifted_cmp(b, a).reverse()
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        // Both are normalized, so equal values have equal fields.
        self.negative == other.negative
            && self.mantissa == other.mantissa
            && self.exp10 == other.exp10
    }
}

impl Eq for Quantity {}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let (sa, sb) = (self.signum(), other.signum());
        if sa != sb || sa == 0 {
            return sa.cmp(&sb);
        }
        let magnitude = cmp_magnitude(self, other);
        if sa > 0 {
            magnitude
        } else {
            magnitude.reverse()
        }
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Canonical form, as upstream's `CanonicalizeBytes`: no fractional digits, the largest suffix
/// that keeps the value exact, in the format the quantity was written in: `"1.5"` -> `1500m`,
/// `"1.5Gi"` -> `1536Mi`, `"1024Mi"` -> `1Gi`, `"1e3"` -> `1e3`, `"0"` -> `0`. A binary quantity
/// below 1024 in magnitude or with a fraction is written in DecimalSI (`".001Ki"` -> `1024m`);
/// a DecimalSI exponent beyond `E` falls back to `e<exp>` (`"1000E"` -> `1e21`).
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mantissa == 0 {
            return f.write_str("0");
        }
        let sign = if self.negative { "-" } else { "" };
        if self.format == QuantityFormat::BinarySI {
            let integer = u32::try_from(self.exp10)
                .ok()
                .and_then(|e| 10u128.checked_pow(e))
                .and_then(|p| self.mantissa.checked_mul(p));
            if let Some(mut n) = integer.filter(|&n| n >= 1024) {
                let mut times = 0;
                while n >= 1024 && n % 1024 == 0 && times < 6 {
                    n /= 1024;
                    times += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][times];
                return write!(f, "{sign}{n}{suffix}");
            }
        }
        // Base 10: round the exponent down to a multiple of three (and into the 32-bit range
        // that the parser accepts after `e`).
        let e3 = (self.exp10 - self.exp10.rem_euclid(3)).min(2_147_483_646);
        let zeros = (self.exp10 - e3) as usize;
        let decimal_si = match (self.format, e3) {
            (QuantityFormat::DecimalExponent, _) => None,
            (_, -9) => Some("n"),
            (_, -6) => Some("u"),
            (_, -3) => Some("m"),
            (_, 0) => Some(""),
            (_, 3) => Some("k"),
            (_, 6) => Some("M"),
            (_, 9) => Some("G"),
            (_, 12) => Some("T"),
            (_, 15) => Some("P"),
            (_, 18) => Some("E"),
            _ => None,
        };
        write!(f, "{sign}{}{}", self.mantissa, "0".repeat(zeros))?;
        match decimal_si {
            Some(suffix) => f.write_str(suffix),
            None if e3 == 0 => Ok(()),
            None => write!(f, "e{e3}"),
        }
    }
}

/// Accepts what a manifest may hold for a quantity: a string (`"500m"`), an integer (`2`) or a
/// float (`0.5`, see [`quantity_from_f64`]).
impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as \"500m\", \"1.5Gi\" or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                parse_quantity(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity::from_i64(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity::from_u64(v))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Quantity, E> {
                parse_quantity(&v.to_string()).map_err(E::custom)
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Quantity, E> {
                parse_quantity(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                quantity_from_f64(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Writes the canonical string form (see `Display`).
impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Formats a CPU amount given in milli-cores for humans: whole cores without a suffix (`"2"`),
/// otherwise milli-cores (`"500m"`, `"1500m"`), as Kubernetes writes CPU quantities.
pub fn format_cpu_millis(millis: i64) -> String {
    if millis % 1000 == 0 {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

/// Formats a memory amount given in bytes for humans: a multiple of 1Mi is written in the
/// largest binary unit that shows it exactly with at most two decimals (`"512Mi"`, `"1.5Gi"`,
/// `"1100Mi"`); anything else is plain bytes (`"1000"`), which is also a valid quantity.
pub fn format_bytes(bytes: i64) -> String {
    const MI: u128 = 1 << 20;
    let sign = if bytes < 0 { "-" } else { "" };
    let b = u128::from(bytes.unsigned_abs());
    if b == 0 || b % MI != 0 {
        return bytes.to_string();
    }
    for (suffix, shift) in [("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20)] {
        let unit = 1u128 << shift;
        if b >= unit && (b * 100) % unit == 0 {
            let hundredths = b * 100 / unit;
            let (whole, frac) = (hundredths / 100, hundredths % 100);
            return match frac {
                0 => format!("{sign}{whole}{suffix}"),
                f if f % 10 == 0 => format!("{sign}{whole}.{}{suffix}", f / 10),
                f => format!("{sign}{whole}.{f:02}{suffix}"),
            };
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> Quantity {
        parse_quantity(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    /// (input, milli_value, value); `None` means overflow.
    const VALID: &[(&str, Option<i64>, Option<i64>)] = &[
        ("0", Some(0), Some(0)),
        ("0m", Some(0), Some(0)),
        ("0Ki", Some(0), Some(0)),
        ("-0", Some(0), Some(0)),
        ("1", Some(1000), Some(1)),
        ("+1", Some(1000), Some(1)),
        ("500m", Some(500), Some(1)),
        ("100m", Some(100), Some(1)),
        ("0.1m", Some(1), Some(1)),
        ("100u", Some(1), Some(1)),
        ("5n", Some(1), Some(1)),
        ("0.9n", Some(1), Some(1)),
        ("1.5", Some(1500), Some(2)),
        ("0.5", Some(500), Some(1)),
        (".5", Some(500), Some(1)),
        ("5.", Some(5000), Some(5)),
        (".001", Some(1), Some(1)),
        (".0001k", Some(100), Some(1)),
        ("1.G", Some(1_000_000_000_000), Some(1_000_000_000)),
        ("1e3", Some(1_000_000), Some(1000)),
        ("1E3", Some(1_000_000), Some(1000)),
        ("1e+3", Some(1_000_000), Some(1000)),
        ("1.3E+6", Some(1_300_000_000), Some(1_300_000)),
        ("1e-3", Some(1), Some(1)),
        ("0.5e-2", Some(5), Some(1)),
        ("1k", Some(1_000_000), Some(1000)),
        ("8.1k", Some(8_100_000), Some(8100)),
        ("100.035k", Some(100_035_000), Some(100_035)),
        ("129e6", Some(129_000_000_000), Some(129_000_000)),
        ("129M", Some(129_000_000_000), Some(129_000_000)),
        ("6.987654321G", Some(6_987_654_321_000), Some(6_987_654_321)),
        (
            "2.5P",
            Some(2_500_000_000_000_000_000),
            Some(2_500_000_000_000_000),
        ),
        ("1E", None, Some(1_000_000_000_000_000_000)),
        ("12E", None, None),
        ("1Ki", Some(1_024_000), Some(1024)),
        ("8Ki", Some(8_192_000), Some(8192)),
        ("7Mi", Some(7_340_032_000), Some(7_340_032)),
        ("1.5Gi", Some(1_610_612_736_000), Some(1_610_612_736)),
        ("0.5Gi", Some(536_870_912_000), Some(536_870_912)),
        ("0.05Gi", Some(53_687_091_200), Some(53_687_092)),
        ("100.035Ki", Some(102_435_840), Some(102_436)),
        ("1.1Ki", Some(1_126_400), Some(1127)),
        ("0.000000000001Ki", Some(1), Some(1)),
        ("3Ei", None, Some(3 << 60)),
        ("8Ei", None, Some(i64::MAX)),
        ("9Ei", None, Some(i64::MAX)),
        ("9223372036854775807Ki", None, Some(i64::MAX)),
        ("-8Ei", None, Some(-i64::MAX)),
        ("-1", Some(-1000), Some(-1)),
        ("-1.5", Some(-1500), Some(-2)),
        ("-100m", Some(-100), Some(-1)),
        ("-9.01", Some(-9010), Some(-10)),
        ("9223372036854775807", None, Some(i64::MAX)),
        ("-9223372036854775808", None, Some(i64::MIN)),
        ("9223372036854775808", None, None),
        ("1e30", None, None),
        ("1e2147483647", None, None),
        ("1e-2147483648", Some(1), Some(1)),
        (" 1 ", Some(1000), Some(1)),
        ("000001.000000", Some(1000), Some(1)),
    ];

    #[test]
    fn valid_table() {
        for &(input, milli, value) in VALID {
            let parsed = q(input);
            assert_eq!(parsed.milli_value().ok(), milli, "milli_value of {input:?}");
            assert_eq!(parsed.value().ok(), value, "value of {input:?}");
        }
    }

    /// Values below nano-units round up at parse time (quantity_test.go "Things that
    /// saturate/round").
    #[test]
    fn nano_rounding() {
        for (input, nanos) in [
            ("3.001n", 4),
            ("1.1E-9", 2),
            ("0.0000000001", 1),
            ("0.0000000005", 1),
            ("0.5e-9", 1),
            ("0.9n", 1),
            ("0.00000012345", 124),
            ("0.00000012354", 124),
            ("0.000000000001Ki", 2),
            ("-0.00000012345", -124),
            ("1e-1000", 1),
        ] {
            assert_eq!(q(input).scaled_value(-9), Ok(nanos), "{input:?}");
        }
    }

    /// (input, error kind, substring of the message).
    const INVALID: &[(&str, &str, &str)] = &[
        ("", "empty", "empty quantity"),
        ("   ", "empty", "empty quantity"),
        ("1 Gi", "format", "whitespace is not allowed"),
        ("1.1.M", "format", "more than one decimal point"),
        ("1+1.0M", "format", "a sign may only appear"),
        ("--1", "format", "more than one sign"),
        ("+-1", "format", "more than one sign"),
        ("0.1mi", "suffix", "did you mean \"Mi\"?"),
        ("0.1am", "suffix", "unknown suffix \"am\""),
        ("aoeu", "format", "expected a number, found 'a'"),
        ("Non-Numeric", "format", "expected a number"),
        (".5i", "suffix", "unknown suffix \"i\""),
        ("1i", "suffix", "unknown suffix \"i\""),
        ("-3.01i", "suffix", "unknown suffix \"i\""),
        ("-3.01e-", "suffix", "unknown suffix \"e-\""),
        ("1e", "suffix", "an exponent needs digits"),
        ("1e1.5", "format", "must be a whole number"),
        ("1e2147483648", "format", "does not fit in a 32-bit integer"),
        ("1,5", "format", "use '.' as the decimal point"),
        ("1ki", "suffix", "did you mean \"Ki\"?"),
        ("1KI", "suffix", "did you mean \"Ki\"?"),
        ("1Gb", "suffix", "did you mean \"G\" or \"Gi\"?"),
        ("1KiB", "suffix", "did you mean \"Ki\"?"),
        ("1K", "suffix", "did you mean \"k\" or \"Ki\"?"),
        ("100B", "suffix", "plain numbers are bytes"),
        ("-", "format", "no digits"),
        ("+", "format", "no digits"),
        (".", "format", "no digits"),
        ("-.", "format", "no digits"),
        ("m", "format", "the suffix \"m\" needs a number"),
        ("Ki", "format", "the suffix \"Ki\" needs a number"),
        ("e3", "format", "the suffix \"e3\" needs a number"),
        ("1Ke3", "suffix", "unknown suffix \"Ke3\""),
        (
            "9999999999999999999999999999999999999999",
            "overflow",
            "38 significant digits",
        ),
    ];

    #[test]
    fn invalid_table() {
        for &(input, kind, message) in INVALID {
            let err = parse_quantity(input).expect_err(input);
            let got = match err {
                QuantityError::Empty => "empty",
                QuantityError::InvalidFormat { .. } => "format",
                QuantityError::InvalidSuffix { .. } => "suffix",
                QuantityError::Overflow { .. } => "overflow",
            };
            assert_eq!(got, kind, "{input:?}: {err}");
            assert!(err.to_string().contains(message), "{input:?}: {err}");
        }
    }

    #[test]
    fn error_message_says_what_was_expected() {
        assert_eq!(
            parse_quantity("1.5GB").unwrap_err().to_string(),
            "invalid quantity \"1.5GB\": unknown suffix \"GB\" (did you mean \"G\" or \"Gi\"?); \
             expected a number with an optional suffix: n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, \
             Ti, Pi, Ei or e<exp> (e.g. \"500m\", \"1.5Gi\", \"129e6\")"
        );
        assert!(
            q("1e30")
                .milli_value()
                .unwrap_err()
                .to_string()
                .starts_with("quantity \"1e30\" is out of range")
        );
    }

    /// quantity_test.go TestQuantityParseEmit / TestQuantityString, and the examples in the
    /// Quantity doc comment.
    #[test]
    fn display_is_canonical() {
        for (input, canonical) in [
            ("0", "0"),
            ("-0", "0"),
            ("0Gi", "0"),
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("1Ki", "1Ki"),
            ("1024Mi", "1Gi"),
            ("1000M", "1G"),
            (".001Ki", "1024m"),
            (".000001Ki", "1024u"),
            (".000000001Ki", "1024n"),
            (".000000000001Ki", "2n"),
            ("1.1Ki", "1126400m"),
            ("1025", "1025"),
            ("300Mi", "300Mi"),
            ("5", "5"),
            ("100m", "100m"),
            ("1080m", "1080m"),
            ("1.08", "1080m"),
            ("0.05", "50m"),
            ("50k", "50k"),
            ("12E", "12E"),
            ("1000E", "1e21"),
            ("1e3", "1e3"),
            ("1e9", "1e9"),
            (".001e12", "1e9"),
            ("1E-3", "1e-3"),
            ("0.5e-1", "50e-3"),
            ("300e6", "300e6"),
            ("-9.01", "-9010m"),
            ("-1.5Gi", "-1536Mi"),
            ("8Ei", "9223372036854775807"),
        ] {
            assert_eq!(q(input).to_string(), canonical, "{input:?}");
        }
    }

    #[test]
    fn equality_and_order_compare_values() {
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("-0"), q("0"));
        assert!(q("100m") < q("1"));
        assert!(q("-1") < q("100m"));
        assert!(q("-2") < q("-1"));
        assert!(q("10000T") > q("100Gi"));
        assert!(q("1e30") > q("9Ei"));
        assert!(q("1n") > q("0"));
        assert!(q("-1n") < q("0"));
        assert_eq!(q("999m").cmp(&q("1")), Ordering::Less);
    }

    #[test]
    fn numbers_from_yaml() {
        assert_eq!(quantity_from_f64(0.5).unwrap(), q("0.5"));
        assert_eq!(quantity_from_f64(2.0).unwrap(), q("2"));
        assert_eq!(quantity_from_f64(0.1).unwrap().milli_value(), Ok(100));
        assert_eq!(quantity_from_f64(1e21).unwrap(), q("1e21"));
        assert_eq!(quantity_from_f64(-0.0).unwrap(), q("0"));
        assert_eq!(quantity_from_f64(1e-10).unwrap().scaled_value(-9), Ok(1));
        assert!(quantity_from_f64(f64::NAN).is_err());
        assert!(quantity_from_f64(f64::INFINITY).is_err());
        assert_eq!(Quantity::from_i64(2), q("2"));
        assert_eq!(Quantity::from_i64(i64::MIN).value(), Ok(i64::MIN));
        assert_eq!(Quantity::from_u64(u64::MAX).value().ok(), None);
        assert_eq!(Quantity::from_milli(500).to_string(), "500m");
        assert_eq!(Quantity::from_milli(2000).to_string(), "2");
    }

    #[test]
    fn serde_accepts_strings_and_numbers() {
        let parse = |json: &str| serde_json::from_str::<Quantity>(json);
        assert_eq!(parse("\"500m\"").unwrap(), q("500m"));
        assert_eq!(parse("2").unwrap(), q("2"));
        assert_eq!(parse("0.5").unwrap(), q("500m"));
        assert_eq!(parse("-3").unwrap(), q("-3"));
        let err = parse("\"1.5GB\"").unwrap_err().to_string();
        assert!(err.contains("did you mean \"G\" or \"Gi\"?"), "{err}");
        assert_eq!(serde_json::to_string(&q("1.5Gi")).unwrap(), "\"1536Mi\"");
    }

    #[test]
    fn as_f64_is_nearest() {
        assert_eq!(q("1.5Gi").as_f64(), 1_610_612_736.0);
        assert_eq!(q("100m").as_f64(), 0.1);
        assert_eq!(q("-2.5").as_f64(), -2.5);
        assert_eq!(q("0").as_f64(), 0.0);
    }

    #[test]
    fn human_formatting() {
        assert_eq!(format_cpu_millis(500), "500m");
        assert_eq!(format_cpu_millis(2000), "2");
        assert_eq!(format_cpu_millis(1500), "1500m");
        assert_eq!(format_cpu_millis(0), "0");
        assert_eq!(format_cpu_millis(-250), "-250m");
        assert_eq!(format_bytes(512 << 20), "512Mi");
        assert_eq!(format_bytes(1536 << 20), "1.5Gi");
        assert_eq!(format_bytes(1280 << 20), "1.25Gi");
        assert_eq!(format_bytes(1100 << 20), "1100Mi");
        assert_eq!(format_bytes(32 << 30), "32Gi");
        assert_eq!(format_bytes(1 << 40), "1Ti");
        assert_eq!(format_bytes(1000), "1000");
        assert_eq!(format_bytes(1024), "1024");
        assert_eq!(format_bytes(0), "0");
        assert_eq!(format_bytes(-(512 << 20)), "-512Mi");
        assert_eq!(format_bytes(i64::MIN), "-8Ei");
        assert_eq!(format_bytes(i64::MAX), i64::MAX.to_string());
        // Every output parses back to the same number of bytes, except that "-8Ei" parses as
        // -(2^63-1): upstream caps binary quantities at 2^63-1 in magnitude.
        for b in [
            512 << 20,
            1536 << 20,
            1280 << 20,
            1100 << 20,
            1000,
            i64::MAX,
            -1,
        ] {
            assert_eq!(q(&format_bytes(b)).value(), Ok(b), "{b}");
        }
        assert_eq!(q(&format_bytes(i64::MIN)).value(), Ok(-i64::MAX));
    }

    /// Rounds `num / den` away from zero (den > 0).
    fn div_away(num: i128, den: i128) -> i128 {
        let (q, r) = (num / den, num % den);
        if r == 0 {
            q
        } else if num > 0 {
            q + 1
        } else {
            q - 1
        }
    }

    /// Suffixes with their value as a fraction num/den, and whether they are binary (capped).
    const SUFFIXES: &[(&str, i128, i128, bool)] = &[
        ("", 1, 1, false),
        ("n", 1, 1_000_000_000, false),
        ("u", 1, 1_000_000, false),
        ("m", 1, 1000, false),
        ("k", 1000, 1, false),
        ("M", 1_000_000, 1, false),
        ("G", 1_000_000_000, 1, false),
        ("T", 1_000_000_000_000, 1, false),
        ("P", 1_000_000_000_000_000, 1, false),
        ("E", 1_000_000_000_000_000_000, 1, false),
        ("e0", 1, 1, false),
        ("e2", 100, 1, false),
        ("e-2", 1, 100, false),
        ("E7", 10_000_000, 1, false),
        ("Ki", 1 << 10, 1, true),
        ("Mi", 1 << 20, 1, true),
        ("Gi", 1 << 30, 1, true),
        ("Ti", 1 << 40, 1, true),
        ("Pi", 1 << 50, 1, true),
        ("Ei", 1 << 60, 1, true),
    ];

    /// The expected i64 for `exact = num/den` rounded away from zero, with the binary cap.
    fn expected(num: i128, den: i128, binary: bool, milli: bool) -> Option<i64> {
        let max = i128::from(i64::MAX);
        let capped = if binary && num.abs() > max * den {
            num.signum() * max * den
        } else {
            num
        };
        let scaled = if milli {
            capped.checked_mul(1000)?
        } else {
            capped
        };
        i64::try_from(div_away(scaled, den)).ok()
    }

    proptest! {
        /// (a) `{n}{suffix}` has value n * multiplier (rounded away from zero, binary capped).
        #[test]
        fn integer_times_suffix(
            n in prop_oneof![any::<i64>(), -1_000_000i64..1_000_000],
            index in 0..SUFFIXES.len(),
        ) {
            let (suffix, mul, den, binary) = SUFFIXES[index];
            let parsed = parse_quantity(&format!("{n}{suffix}")).unwrap();
            let exact = i128::from(n) * mul;
            prop_assert_eq!(parsed.value().ok(), expected(exact, den, binary, false));
            prop_assert_eq!(parsed.milli_value().ok(), expected(exact, den, binary, true));
        }

        /// (b) milli_value of "a.b" is ceil(a.b * 1000), computed with integers.
        #[test]
        fn decimal_milli_value(a in 0u64..10_000_000_000, b in "[0-9]{1,15}", negative: bool) {
            let frac: i128 = b.parse().unwrap();
            let den = 10i128.pow(b.len() as u32);
            let magnitude = i128::from(a) * 1000 + (frac * 1000 + den - 1) / den;
            let sign = if negative { "-" } else { "" };
            let parsed = parse_quantity(&format!("{sign}{a}.{b}")).unwrap();
            let want = if negative { -magnitude } else { magnitude };
            prop_assert_eq!(i128::from(parsed.milli_value().unwrap()), want);
        }

        /// (c) Parsing never panics, and whatever parses prints to a string that parses back
        /// to the same value.
        #[test]
        fn never_panics(s in any::<String>()) {
            check_round_trip(&s)?;
        }

        /// (c) Same, over the alphabet quantities are made of.
        #[test]
        fn never_panics_dense(s in "[-+0-9.,eEinumkKMGTPB ]{0,24}") {
            check_round_trip(&s)?;
        }

        /// Ordering agrees with nano values where those fit.
        #[test]
        fn order_matches_nanos(a in any::<i64>(), ea in -9i32..6, b in any::<i64>(), eb in -9i32..6) {
            let qa = parse_quantity(&format!("{a}e{ea}")).unwrap();
            let qb = parse_quantity(&format!("{b}e{eb}")).unwrap();
            let na = i128::from(a) * 10i128.pow((ea + 9) as u32);
            let nb = i128::from(b) * 10i128.pow((eb + 9) as u32);
            prop_assert_eq!(qa.cmp(&qb), na.cmp(&nb));
            prop_assert_eq!(qa == qb, na == nb);
        }
    }

    fn check_round_trip(s: &str) -> Result<(), TestCaseError> {
        if let Ok(parsed) = parse_quantity(s) {
            let _ = parsed.value();
            let _ = parsed.milli_value();
            let _ = parsed.as_f64();
            let printed = parsed.to_string();
            let reparsed = parse_quantity(&printed);
            prop_assert_eq!(reparsed, Ok(parsed), "{:?} printed as {:?}", s, printed);
        }
        Ok(())
    }
}
