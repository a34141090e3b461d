//! The kinds of PERM deadline a case carries, one per nullable date column of `cases`.

use std::fmt;
use std::str::FromStr;

/// One deadline column of `cases`. The string form is the column name; it is what
/// `case_event_links.deadline_kind` stores and what the Google event marker carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeadlineKind {
    PwdExpiration,
    RecruitmentStart,
    FilingWindowOpens,
    FilingWindowCloses,
    Eta9089Filing,
    Eta9089Expiration,
    I140FilingDeadline,
    RfiDue,
    RfeDue,
}

impl DeadlineKind {
    /// Every kind, in the order the case tracker lists them.
    pub const ALL: [DeadlineKind; 9] = [
        Self::PwdExpiration,
        Self::RecruitmentStart,
        Self::FilingWindowOpens,
        Self::FilingWindowCloses,
        Self::Eta9089Filing,
        Self::Eta9089Expiration,
        Self::I140FilingDeadline,
        Self::RfiDue,
        Self::RfeDue,
    ];

    /// The `cases` column (and stored name) of this kind.
    pub const fn column(self) -> &'static str {
        match self {
            Self::PwdExpiration => "pwd_expiration_date",
            Self::RecruitmentStart => "recruitment_start_date",
            Self::FilingWindowOpens => "filing_window_opens",
            Self::FilingWindowCloses => "filing_window_closes",
            Self::Eta9089Filing => "eta9089_filing_date",
            Self::Eta9089Expiration => "eta9089_expiration_date",
            Self::I140FilingDeadline => "i140_filing_deadline",
            Self::RfiDue => "rfi_due_date",
            Self::RfeDue => "rfe_due_date",
        }
    }

    /// How a person names this deadline (event titles, audit views).
    pub const fn label(self) -> &'static str {
        match self {
            Self::PwdExpiration => "Prevailing wage determination expires",
            Self::RecruitmentStart => "Recruitment starts",
            Self::FilingWindowOpens => "ETA-9089 filing window opens",
            Self::FilingWindowCloses => "ETA-9089 filing window closes",
            Self::Eta9089Filing => "ETA-9089 filing date",
            Self::Eta9089Expiration => "ETA-9089 certification expires",
            Self::I140FilingDeadline => "I-140 filing deadline",
            Self::RfiDue => "RFI response due",
            Self::RfeDue => "RFE response due",
        }
    }
}

impl fmt::Display for DeadlineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.column())
    }
}

/// A stored or received deadline kind that calsync does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown deadline kind {0:?}")]
pub struct UnknownDeadlineKind(pub String);

impl FromStr for DeadlineKind {
    type Err = UnknownDeadlineKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.column() == s)
            .ok_or_else(|| UnknownDeadlineKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_column_name() {
        for kind in DeadlineKind::ALL {
            assert_eq!(kind.column().parse::<DeadlineKind>().unwrap(), kind);
        }
        assert!("closed_at".parse::<DeadlineKind>().is_err());
    }
}
