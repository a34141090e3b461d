//! The inbound direction through the whole pipeline: the user acts in the emulator, Google's
//! notification reaches the real webhook over TCP, the job goes through Redis to a worker
//! (in-process, or a real `calsync worker` child process), the worker syncs, and the
//! assertions read PostgreSQL, Redis and what the emulator received.

mod changes;
mod concurrency;
mod failures;
pub(crate) mod support;
