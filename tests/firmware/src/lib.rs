//! What the firmware binaries share: an SMTP responder in memory, a TCP/IP
//! loopback (smoltcp) that carries the client's bytes to it over real TCP, the
//! sessions both clients run, a minimal executor, the check counter and the
//! stack gauge.

#![no_std]

pub mod responder;
pub mod sessions;
pub mod tcp;
#[cfg(feature = "tls")]
pub mod tls;

use cortex_m_semihosting::{debug, hprintln};

/// Counts checks and prints each one.
#[derive(Default)]
pub struct Checks {
    passed: u32,
    failed: u32,
}

impl Checks {
    /// Records and prints one check.
    pub fn check(&mut self, name: &str, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        hprintln!("{} {}", if ok { "ok  " } else { "FAIL" }, name);
    }

    /// Records a check that ended in `error`, and prints the error.
    pub fn failed(&mut self, name: &str, error: &dyn core::fmt::Display) {
        self.failed += 1;
        hprintln!("FAIL {}: {}", name, error);
    }

    /// Records a check on `result`: passed when it is `Ok` and `ok` holds for its
    /// value; an error is printed, a wrong value shown with `Debug`.
    pub fn result<T: core::fmt::Debug, E: core::fmt::Display>(
        &mut self,
        name: &str,
        result: &Result<T, E>,
        ok: impl FnOnce(&T) -> bool,
    ) {
        match result {
            Ok(v) if ok(v) => self.check(name, true),
            Ok(v) => {
                self.failed += 1;
                hprintln!("FAIL {}: got {:?}", name, v);
            }
            Err(e) => self.failed(name, e),
        }
    }

    /// Prints the stack high-water and the verdict line, and exits QEMU with
    /// status 0 only when every check passed.
    pub fn finish(self) -> ! {
        hprintln!("stack high-water: {} bytes", stack_used());
        hprintln!("{} passed, {} failed", self.passed, self.failed);
        debug::exit(if self.failed == 0 && self.passed > 0 {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
        #[allow(clippy::empty_loop)]
        loop {}
    }
}

/// Lowest stack address touched since reset: the first word above the stack's
/// bottom that no longer holds the paint value (cortex-m-rt `paint-stack`).
pub fn stack_used() -> u32 {
    unsafe extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }
    let top = core::ptr::addr_of!(_stack_start) as u32;
    let bottom = core::ptr::addr_of!(_stack_end) as u32;
    let mut p = bottom;
    while p < top {
        // SAFETY: [bottom, top) is the stack region; reading painted words is harmless.
        let v = unsafe { core::ptr::read_volatile(p as *const u32) };
        if v != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        p += 4;
    }
    top - p
}

/// Paints the unused stack again (everything below the current stack pointer,
/// less a small margin), so that [`stack_used`] then measures what follows.
#[inline(never)]
pub fn repaint() {
    unsafe extern "C" {
        static _stack_end: u32;
    }
    let bottom = core::ptr::addr_of!(_stack_end) as u32;
    let sp = cortex_m::register::msp::read() - 64;
    let mut p = bottom;
    while p < sp {
        // SAFETY: [bottom, sp) is unused stack below this frame.
        unsafe { core::ptr::write_volatile(p as *mut u32, cortex_m_rt::STACK_PAINT_VALUE) };
        p += 4;
    }
}

/// Runs a future to completion by polling it in a loop: every stream here is in
/// memory and always ready, so nothing ever needs to wake it. The future is
/// pinned by the caller (`core::pin::pin!`), where it was made, so it is never
/// moved: an executor's task storage holds it the same way.
pub fn block_on<F: core::future::Future>(mut f: core::pin::Pin<&mut F>) -> F::Output {
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
