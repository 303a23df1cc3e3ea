//! The rules in plain words: one English sentence per rule, for results
//! pages, the widget and the CLI.

use super::{Rules, Window};

/// `n thing` / `n things`.
fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"` (with `and` for `conj = "and"`).
fn listed(items: &[String], conj: &str) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {conj} {last}", rest.join(", ")),
    }
}

fn window_sentence(w: &Window) -> Option<String> {
    Some(match (&w.from, &w.until) {
        (Some(from), Some(until)) => {
            format!("Entries must be posted at or after {from} and before {until}.")
        }
        (Some(from), None) => format!("Entries must be posted at or after {from}."),
        (None, Some(until)) => format!("Entries must be posted before {until}."),
        (None, None) => return None,
    })
}

impl Rules {
    /// The rules in plain words: one English sentence per rule that is set,
    /// in the order the engine applies them (who is drawn and from where,
    /// then the exclusions in protocol order, then tickets and the draw).
    ///
    /// Pure and deterministic: the same rules always give the same
    /// sentences, whatever the key order of the JSON they came from. The
    /// JSON stays the reference; these lines are what a results page shows
    /// next to it. Values the organiser wrote (keywords, handles,
    /// collections) appear quoted, exactly as written.
    ///
    /// ```
    /// use fairdraw_engine::rules::Rules;
    ///
    /// let rules = Rules::from_json(br##"{"winners": 1, "keywords": {"any": ["#giveaway"]}}"##)?;
    /// assert_eq!(
    ///     rules.describe(),
    ///     [
    ///         "1 winner is drawn from the \"comments\" collection.",
    ///         "The text must contain \"#giveaway\" (case does not matter).",
    ///         "Only each account's first qualifying entry counts; each counted entry is 1 ticket.",
    ///         "Each eligible account's chance is proportional to its tickets, and no account is drawn twice.",
    ///     ]
    /// );
    /// # Ok::<(), fairdraw_engine::rules::RuleError>(())
    /// ```
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        let collection = self.primary_collection();
        let drawn = match self.alternates() {
            0 => format!(
                "{} {} drawn from the \"{collection}\" collection.",
                count(u64::from(self.winners), "winner", "winners"),
                if self.winners == 1 { "is" } else { "are" }
            ),
            a => format!(
                "{} and then {} in order are drawn from the \"{collection}\" collection.",
                count(u64::from(self.winners), "winner", "winners"),
                count(u64::from(a), "alternate", "alternates")
            ),
        };
        out.push(drawn);
        if let Some(o) = &self.organizer {
            out.push(format!(
                "The organizer's account \"{o}\" cannot enter, and mentioning it does not count."
            ));
        }
        match self.exclude_users.as_slice() {
            [] => {}
            [one] => out.push(format!("The account \"{one}\" cannot enter.")),
            many => out.push(format!(
                "These accounts cannot enter: {}.",
                listed(many, "and")
            )),
        }
        if let Some(s) = self.window.as_ref().and_then(window_sentence) {
            out.push(s);
        }
        if let Some(k) = &self.keywords {
            match k.any.as_slice() {
                [] => {}
                [one] => out.push(format!(
                    "The text must contain \"{one}\" (case does not matter)."
                )),
                many => out.push(format!(
                    "The text must contain at least one of {} (case does not matter).",
                    listed(many, "or")
                )),
            }
            match k.all.as_slice() {
                [] => {}
                [one] => out.push(format!(
                    "The text must contain \"{one}\" (case does not matter)."
                )),
                many => out.push(format!(
                    "The text must contain all of {} (case does not matter).",
                    listed(many, "and")
                )),
            }
        }
        if let Some(m) = self.min_mentions.filter(|m| *m > 0) {
            out.push(format!(
                "The text must mention at least {} with @ (not the entrant's own account or the organizer's).",
                count(u64::from(m), "other account", "other accounts")
            ));
        }
        if let Some(n) = self.min_followers {
            out.push(format!(
                "The account must have at least {}; an account whose follower count is unknown is excluded.",
                count(n, "follower", "followers")
            ));
        }
        if let Some(d) = self.min_account_age_days {
            out.push(format!(
                "The account must be at least {} old when the entry is posted; an account of unknown age is excluded.",
                count(u64::from(d), "day", "days")
            ));
        }
        match self.require_in.as_slice() {
            [] => {}
            [one] => out.push(format!(
                "The account must also appear in the \"{one}\" collection."
            )),
            many => out.push(format!(
                "The account must also appear in each of the {} collections.",
                listed(many, "and")
            )),
        }
        out.push(match self.entries_per_user() {
            1 => "Only each account's first qualifying entry counts; each counted entry is 1 ticket."
                .to_owned(),
            n => format!(
                "Each account's first {n} qualifying entries count, later ones are excluded; each counted entry is 1 ticket."
            ),
        });
        if let Some(b) = &self.bonus {
            let which = match self.min_mentions.unwrap_or(0) {
                0 => "Each mention".to_owned(),
                m => format!("Each mention beyond the required {m}"),
            };
            out.push(format!(
                "{which} earns {}, up to {} per account.",
                count(b.per_extra_mention, "bonus ticket", "bonus tickets"),
                count(b.max, "bonus ticket", "bonus tickets")
            ));
        }
        out.push(
            "Each eligible account's chance is proportional to its tickets, and no account is drawn twice."
                .to_owned(),
        );
        out
    }
}
