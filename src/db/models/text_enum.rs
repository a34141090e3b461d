//! Stores a Rust enum as its `varchar` name (the columns carry a CHECK listing the names).

/// Implements `ToSql`/`FromSql` against `Text` for an enum with `as_str` and a `FromStr`.
macro_rules! text_enum_sql {
    ($ty:ty) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let s = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                s.parse()
                    .map_err(|_| format!("unexpected {} {s:?}", stringify!($ty)).into())
            }
        }
    };
}

pub(crate) use text_enum_sql;
