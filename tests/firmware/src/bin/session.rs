//! Whole SMTP sessions with the unchanged blocking and async clients on a bare
//! Cortex-M core under QEMU: against an SMTP responder in the same image, and over
//! real TCP (smoltcp on an in-image loopback) to the same responder behind a
//! server socket. Prints each check, the stack each session used and a
//! `N passed, M failed` line, then exits through semihosting (status 0 only when
//! every check passed).

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embedded_smtp_firmware::responder::Responder;
use embedded_smtp_firmware::tcp::{Buffers, Link, Loopback};
use embedded_smtp_firmware::{Checks, block_on, repaint, sessions, stack_used};
use panic_semihosting as _;
use smoltcp::iface::SocketStorage;

/// Checks what a session must have done on the responder it ends with.
fn delivered(checks: &mut Checks, name: &str, accepted: usize, want: usize, r: &Responder) {
    let mut line = heapless::String::<96>::new();
    let mut named = |what: &str, ok: bool| {
        line.clear();
        let _ = line.push_str(name);
        let _ = line.push_str(": ");
        let _ = line.push_str(what);
        checks.check(&line, ok);
    };
    named("recipients accepted", accepted == want);
    named("AUTH PLAIN sent the right credentials", r.auth_ok);
    named("one message delivered", r.messages == want.min(1) as u32);
    named("the attachment went over the wire", r.data_bytes > 600);
    named("QUIT answered", r.quit);
}

/// (a) The blocking client with the responder as its stream.
#[inline(never)]
fn blocking_in_memory(checks: &mut Checks, name: &str, refuse: &'static [u8], want: usize) {
    match sessions::blocking(Responder::new(refuse)) {
        Ok((n, r)) => delivered(checks, name, n, want, &r),
        Err(e) => checks.failed(name, &e),
    }
}

/// (a) The async client with the responder as its stream.
#[inline(never)]
fn async_in_memory(checks: &mut Checks, name: &str, refuse: &'static [u8], want: usize) {
    let session = core::pin::pin!(sessions::asynch(Responder::new(refuse)));
    hprintln!(
        "{}: the session's future takes {} bytes",
        name,
        core::mem::size_of_val(&*session)
    );
    match block_on(session) {
        Ok((n, r)) => delivered(checks, name, n, want, &r),
        Err(e) => checks.failed(name, &e),
    }
}

/// (b) The blocking client over TCP/IP: smoltcp on a loopback, the responder
/// behind a server socket.
#[inline(never)]
fn blocking_over_tcp(checks: &mut Checks, wire: &mut Loopback, buffers: &mut Buffers) {
    let name = "blocking over TCP";
    let mut storage = [SocketStorage::EMPTY; 2];
    match Link::connect(wire, buffers, &mut storage, Responder::new(b"")) {
        Ok(mut link) => match sessions::blocking(&mut link) {
            Ok((n, link)) => {
                hprintln!(
                    "{}: {} steps, {} server reads",
                    name,
                    link.steps,
                    link.server_reads
                );
                delivered(checks, name, n, 2, &link.responder);
            }
            Err(e) => checks.failed(name, &e),
        },
        Err(e) => checks.failed("blocking over TCP: connects", &e),
    }
}

/// (b) The async client over TCP/IP.
#[inline(never)]
fn async_over_tcp(checks: &mut Checks, wire: &mut Loopback, buffers: &mut Buffers) {
    let name = "async over TCP";
    let mut storage = [SocketStorage::EMPTY; 2];
    match Link::connect(wire, buffers, &mut storage, Responder::new(b"")) {
        Ok(mut link) => match block_on(core::pin::pin!(sessions::asynch(&mut link))) {
            Ok((n, link)) => {
                hprintln!(
                    "{}: {} steps, {} server reads",
                    name,
                    link.steps,
                    link.server_reads
                );
                delivered(checks, name, n, 2, &link.responder);
            }
            Err(e) => checks.failed(name, &e),
        },
        Err(e) => checks.failed("async over TCP: connects", &e),
    }
}

#[entry]
fn main() -> ! {
    let mut checks = Checks::default();
    // Statics with a const initializer, taken once here: never built on the stack.
    static mut WIRE: Loopback = Loopback::new();
    static mut BUFFERS: Buffers = Buffers::new();
    // SAFETY: `main` runs once and these are its only references.
    let (wire, buffers) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(WIRE),
            &mut *core::ptr::addr_of_mut!(BUFFERS),
        )
    };
    let mut measured = |name: &str, run: &mut dyn FnMut(&mut Checks)| {
        repaint();
        run(&mut checks);
        hprintln!("stack, {}: {} bytes", name, stack_used());
    };
    measured("blocking", &mut |c| {
        blocking_in_memory(c, "blocking, in memory", b"", 2)
    });
    measured("blocking, refusal", &mut |c| {
        blocking_in_memory(c, "blocking, one recipient refused", b"<night@", 1)
    });
    measured("async", &mut |c| {
        async_in_memory(c, "async, in memory", b"", 2)
    });
    measured("async, refusal", &mut |c| {
        async_in_memory(c, "async, one recipient refused", b"<night@", 1)
    });
    measured("blocking over TCP", &mut |c| {
        blocking_over_tcp(c, wire, buffers)
    });
    measured("async over TCP", &mut |c| async_over_tcp(c, wire, buffers));
    checks.finish()
}
