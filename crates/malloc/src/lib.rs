//! How the process's allocator gives large blocks back to the system.
//!
//! glibc malloc serves blocks above its mmap threshold (128 KiB) from their
//! own mappings, returned on free, but it raises that threshold to the size
//! of the largest such block freed (up to 32 MiB). After the first password
//! check freed argon2's memory, every later one came from a thread's heap and
//! stayed there: `openwmi serve` grew with every burst of logins
//! (regression test: `test_repeated_logins_give_their_memory_back` in
//! tests/e2e/test_server.py). Fixing the threshold turns that adjustment off,
//! and with it the one of the trim threshold (free memory kept at the top of
//! a heap), which is therefore set too: left at its 128 KiB default, the
//! buffers of a streamed answer were given back and faulted in again on
//! every request.
//!
//! And how a large buffer about to be filled asks for huge pages: argon2's
//! memory, faulted in 4 KiB at a time, cost a password check several times
//! the system time it costs in 2 MiB pages (figures: BENCHMARKS.md,
//! "Measured decisions").
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

/// Gives the free memory inside the allocator's heaps back to the system
/// (`malloc_trim(0)`). Small blocks freed in the middle of a heap stay
/// mapped otherwise: a large data-source snapshot, once dropped, kept the
/// process at its peak. Whether anything was given back; `false` on a C
/// library other than glibc, where nothing is done.
pub fn release_free_memory() -> bool {
    imp::release_free_memory()
}

/// Asks the kernel to back the spare capacity of `buffer` (what lies past
/// its length) with transparent huge pages, before it is filled: a large
/// buffer then costs a few page faults instead of one per 4 KiB. Advice
/// only: nothing about the buffer changes, and where huge pages are off
/// (or on another system) it does nothing.
pub fn prefer_huge_pages<T>(buffer: &mut Vec<T>) {
    let size = std::mem::size_of::<T>();
    let start = buffer.as_mut_ptr() as usize + buffer.len() * size;
    let end = buffer.as_mut_ptr() as usize + buffer.capacity() * size;
    imp::prefer_huge_pages(start, end);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    /// Whole pages of [start, end), an address range the caller owns.
    pub fn prefer_huge_pages(start: usize, end: usize) {
        const PAGE: usize = 4096;
        let first = start.next_multiple_of(PAGE);
        let last = end / PAGE * PAGE;
        if last <= first {
            return;
        }
        // SAFETY: [first, last) lies within the spare capacity of a Vec
        // borrowed mutably by our caller, so no one else uses those pages
        // meanwhile; MADV_HUGEPAGE changes neither their contents nor their
        // validity, only how the kernel backs them when they are touched.
        // An error (no THP support) leaves everything as it was.
        #[allow(unsafe_code)]
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_HUGEPAGE,
            );
        }
    }

    pub fn return_large_blocks(threshold: usize) -> bool {
        let (Ok(mmap), Some(Ok(trim))) = (
            libc::c_int::try_from(threshold),
            threshold.checked_mul(2).map(libc::c_int::try_from),
        ) else {
            return false;
        };
        set(libc::M_TRIM_THRESHOLD, trim) && set(libc::M_MMAP_THRESHOLD, mmap)
    }

    pub fn release_free_memory() -> bool {
        // SAFETY: malloc_trim takes an integer and only returns free pages
        // of malloc's heaps to the kernel, under malloc's own locks; it may
        // be called from any thread at any time.
        #[allow(unsafe_code)]
        let released = unsafe { libc::malloc_trim(0) };
        released == 1
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
    pub fn prefer_huge_pages(_start: usize, _end: usize) {}

    pub fn return_large_blocks(_threshold: usize) -> bool {
        false
    }

    pub fn release_free_memory() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_page_advice_leaves_the_buffer_as_it_was() {
        let mut buffer: Vec<u64> = Vec::with_capacity(1 << 20);
        buffer.extend([7, 8, 9]);
        prefer_huge_pages(&mut buffer);
        buffer.resize(1 << 20, 1);
        assert_eq!(&buffer[..4], &[7, 8, 9, 1]);
        assert!(buffer[3..].iter().all(|&v| v == 1));
        // Nothing spare: nothing to advise.
        let mut full = vec![1u8; 10];
        prefer_huge_pages(&mut full);
        assert_eq!(full, vec![1u8; 10]);
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_threshold() {
        assert!(return_large_blocks(SERVER_MMAP_THRESHOLD));
        // Not an int (or twice it is not): nothing is passed to C.
        assert!(!return_large_blocks(usize::MAX));
        assert!(!return_large_blocks(libc::c_int::MAX as usize));
    }
}
