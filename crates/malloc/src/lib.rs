//! How the process's allocator gives large blocks back to the system.
//!
//! glibc malloc serves blocks above its mmap threshold (128 KiB) from their
//! own mappings, returned on free, but it raises that threshold to the size
//! of the largest such block freed (up to 32 MiB). After the first password
//! check freed argon2's 19 MiB, every later one came from a thread's heap and
//! stayed there: `openwmi serve` grew by about 100 MB per burst of logins
//! (regression test: `test_repeated_logins_give_their_memory_back` in
//! tests/e2e/test_server.py). Fixing the threshold turns that adjustment off,
//! and with it the one of the trim threshold (free memory kept at the top of
//! a heap), which is therefore set too: left at its 128 KiB default, the
//! 64-256 KiB buffers of a streamed answer were given back and faulted in
//! again on every request (ExecQuery of 300 instances: 210 -> 330 us of CPU).
//!
//! This is the one place openwmi itself calls C; elsewhere `unsafe` is
//! forbidden.

/// The threshold the server uses: well above the blocks of its hot paths
/// (response chunks are 64 KiB), well below argon2's.
pub const SERVER_MMAP_THRESHOLD: usize = 1 << 20;

/// Makes blocks of `threshold` bytes and more come from their own mappings,
/// returned to the system when freed, for the rest of the process's life;
/// a heap gives memory back once twice that is free at its top (glibc's own
/// rule when it adjusts the thresholds itself). Whether the allocator took
/// the settings: `false` on a C library other than glibc, where nothing is
/// changed.
pub fn return_large_blocks(threshold: usize) -> bool {
    imp::return_large_blocks(threshold)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    pub fn return_large_blocks(threshold: usize) -> bool {
        let (Ok(mmap), Some(Ok(trim))) = (
            libc::c_int::try_from(threshold),
            threshold.checked_mul(2).map(libc::c_int::try_from),
        ) else {
            return false;
        };
        set(libc::M_TRIM_THRESHOLD, trim) && set(libc::M_MMAP_THRESHOLD, mmap)
    }

    fn set(parameter: libc::c_int, value: libc::c_int) -> bool {
        // SAFETY: mallopt takes two integers and only changes malloc's
        // parameters, under malloc's own lock; it may be called from any
        // thread at any time, and glibc checks the value.
        #[allow(unsafe_code)]
        let done = unsafe { libc::mallopt(parameter, value) };
        done == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn return_large_blocks(_threshold: usize) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_threshold() {
        assert!(return_large_blocks(SERVER_MMAP_THRESHOLD));
        // Not an int (or twice it is not): nothing is passed to C.
        assert!(!return_large_blocks(usize::MAX));
        assert!(!return_large_blocks(libc::c_int::MAX as usize));
    }
}
