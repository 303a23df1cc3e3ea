//! Where the host's services come from: the component's imports, or
//! natively the thread's test doubles (each test runs on its own thread).

#[cfg(target_arch = "wasm32")]
pub(crate) use crate::wasm::{config, log, send};

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::*;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use crate::http::{HttpError, Request, Response, Transport};
    use crate::log::Level;

    thread_local! {
        pub(crate) static TRANSPORT: RefCell<Option<Rc<dyn Transport>>> = const { RefCell::new(None) };
        pub(crate) static CONFIG: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
        pub(crate) static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn send(request: &Request) -> Result<Response, HttpError> {
        let transport = TRANSPORT.with(|t| t.borrow().clone());
        match transport {
            Some(transport) => transport.send(request),
            None => Err(HttpError::Transport(format!(
                "no transport installed for {} {}: natively the SDK sends no requests; \
                 install fairdraw_plugin_sdk::testing::Recorded",
                request.method, request.url
            ))),
        }
    }

    pub(crate) fn config(key: &str) -> Option<String> {
        CONFIG.with(|c| c.borrow().get(key).cloned())
    }

    pub(crate) fn log(level: Level, message: &str) {
        eprintln!("[plugin {level}] {message}");
        LOGS.with(|l| l.borrow_mut().push((level, message.to_owned())));
    }
}
