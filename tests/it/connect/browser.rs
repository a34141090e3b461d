//! A browser as far as the connect flow needs one: follows redirects one by one, keeps the
//! cookies it is given (by name; the flow's hosts are all 127.0.0.1, and browsers ignore the
//! port for cookies), reads the emulator's consent form and submits it.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use url::Url;

pub struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// Stop (without loading it) at any URL starting with this: the tracker's return page.
    stop_at: String,
}

/// Where a navigation ended.
#[derive(Debug)]
pub enum Landing {
    /// Redirected to the tracker's return URL.
    Returned(Url),
    /// A page that is not a redirect: its URL, status and body.
    Page {
        url: Url,
        status: StatusCode,
        body: String,
    },
}

impl Landing {
    pub fn returned(&self) -> &Url {
        match self {
            Self::Returned(u) => u,
            Self::Page { url, status, body } => {
                panic!("expected the return URL, got {status} at {url}: {body}")
            }
        }
    }

    /// The query parameter `name` of the return URL.
    pub fn param(&self, name: &str) -> Option<String> {
        self.returned()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn page(&self) -> (StatusCode, &str) {
        match self {
            Self::Page { status, body, .. } => (*status, body),
            Self::Returned(u) => panic!("expected a page, got redirected to {u}"),
        }
    }
}

impl Browser {
    pub fn new(stop_at: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            stop_at: stop_at.to_owned(),
        }
    }

    /// A browser with none of this one's cookies (another device).
    pub fn other(&self) -> Self {
        Self::new(&self.stop_at)
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookies.contains_key(name)
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, res: &reqwest::Response) {
        for value in res.headers().get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let first = text.split(';').next().unwrap_or_default();
            let Some((name, value)) = first.split_once('=') else {
                continue;
            };
            let expired = text.to_ascii_lowercase().contains("max-age=0");
            if value.is_empty() || expired {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    /// Opens `url` and follows redirects until a page, or the return URL.
    pub async fn open(&mut self, url: &str) -> Landing {
        self.navigate(self.http.get(url)).await
    }

    async fn navigate(&mut self, mut request: reqwest::RequestBuilder) -> Landing {
        for _ in 0..10 {
            let res = request
                .header(COOKIE, self.cookie_header())
                .send()
                .await
                .unwrap();
            self.keep_cookies(&res);
            let url = res.url().clone();
            if res.status().is_redirection() {
                let location = res.headers()[LOCATION].to_str().unwrap();
                let next = url.join(location).unwrap();
                if next.as_str().starts_with(&self.stop_at) {
                    return Landing::Returned(next);
                }
                request = self.http.get(next);
                continue;
            }
            let status = res.status();
            let body = res.text().await.unwrap();
            return Landing::Page { url, status, body };
        }
        panic!("too many redirects");
    }

    /// Submits the consent form of `page` with `action` (`allow` or `deny`), leaving the
    /// scopes in `untick` unticked.
    pub async fn consent(&mut self, page: &Landing, action: &str, untick: &[&str]) -> Landing {
        let Landing::Page { url, status, body } = page else {
            panic!("expected the consent page, got {page:?}");
        };
        assert_eq!(*status, StatusCode::OK, "consent page: {body}");
        let mut form: Vec<(String, String)> = Vec::new();
        let mut action_path = None;
        for line in body.lines() {
            if let Some(path) = attr(line, "<form", "action") {
                action_path = Some(path);
            }
            if line.contains("type=\"hidden\"") {
                form.push((
                    attr(line, "<input", "name").unwrap(),
                    attr(line, "<input", "value").unwrap(),
                ));
            }
            if line.contains("type=\"checkbox\"") && line.contains("checked") {
                let scope = attr(line, "<input", "value").unwrap();
                if !untick.contains(&scope.as_str()) {
                    form.push(("scope".into(), scope));
                }
            }
        }
        form.push(("action".into(), action.into()));
        let target = url.join(&action_path.expect("a form")).unwrap();
        let request = self.http.post(target).form(&form);
        self.navigate(request).await
    }
}

/// The value of attribute `name` on a line holding `tag`, unescaped.
fn attr(line: &str, tag: &str, name: &str) -> Option<String> {
    if !line.contains(tag) {
        return None;
    }
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let end = start + line[start..].find('"')?;
    Some(
        line[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}
