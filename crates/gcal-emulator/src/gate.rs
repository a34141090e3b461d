//! Middleware in front of every Google-facing endpoint: records the request (with the status
//! it ends up answered with) and applies injected faults. The control API under `/_emulator`
//! does not pass through here, so driving the emulator never shows up in what it recorded.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use rand::Rng;
use std::time::Duration;

use super::recorder::RecordedRequest;
use super::state::{Shared, lock};

/// The middleware function; wire it with `actix_web::middleware::from_fn(gate)`.
pub async fn gate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(shared) = req.app_data::<web::Data<Shared>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let at = shared.now();
    let body = match req.extract::<web::Bytes>().await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e)),
    };
    // The handler reads the body again, so put back what we consumed.
    req.set_payload(Payload::from(body.clone()));
    let method = req.method().as_str().to_owned();
    let path = req.path().to_owned();
    let mut record = RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query: req.query_string().to_owned(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: 0,
        at,
    };
    let (before, after) = latency(&shared);
    tokio::time::sleep(before).await;
    let fault = lock(&shared.faults).take(&method, &path);
    let result = match fault {
        Some(err) => Ok(req.error_response(err)),
        None => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
    };
    tokio::time::sleep(after).await;
    record.status = match &result {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    shared.recorder.record_request(record);
    result
}

/// This request's delay, split around the moment it takes effect.
fn latency(shared: &Shared) -> (Duration, Duration) {
    let Some((min, max)) = *lock(&shared.latency) else {
        return (Duration::ZERO, Duration::ZERO);
    };
    let total = if max > min {
        rand::rng().random_range(min..=max)
    } else {
        min
    };
    (total / 2, total - total / 2)
}
