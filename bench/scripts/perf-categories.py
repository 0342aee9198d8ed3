#!/usr/bin/env python3
"""Where a server's CPU time goes: classify the samples of a `perf record --call-graph dwarf`
profile (as `arca-bench --perf DIR` writes them) into cost categories.

    bench/scripts/perf-categories.py DIR/arca-blob-mono-large-upload-*.data [-d] [-v]

Each sample goes to the first category whose test matches its leaf symbol or any frame of
its call chain, in the order below (so a memcpy inside a write(2) counts as the write).
-d: break every category down by the innermost arca:: frame; -v: list unclassified leaves.
Samples of JIT-compiled plugin code have no symbol ("[unknown]") and count as the plugin.
"""
import collections
import re
import subprocess
import sys

CATEGORIES = [
    ("sha256 (sha2 crate)", lambda leaf, stack: "sha2::" in leaf),
    ("fsync / fdatasync", lambda leaf, stack: re.search(
        r"fsync|fdatasync|sync_all|sync_data|ext4_sync_file|file_write_and_wait|jbd2", stack)),
    ("SQLite", lambda leaf, stack: re.search(r"sqlite3|rusqlite", stack)),
    ("wasm plugin (wasmtime + guest code)", lambda leaf, stack: re.search(
        r"wasmtime|cranelift|arca::plugins|wit_bindgen", stack) or leaf.strip() == "[unknown]"),
    ("JSON (serde_json)", lambda leaf, stack: "serde_json" in stack),
    ("socket send (incl. loopback delivery)", lambda leaf, stack: re.search(
        r"tcp_sendmsg|sock_sendmsg|__sys_sendto|sock_write_iter|do_writev", stack)),
    ("file write (page cache)", lambda leaf, stack: re.search(
        r"ksys_write|vfs_write|ksys_pwrite|__x64_sys_write", stack)),
    ("file read (page cache)", lambda leaf, stack: re.search(
        r"ksys_read|vfs_read|filemap_read|ksys_pread|__x64_sys_read\b|__x64_sys_pread", stack)),
    ("socket recv", lambda leaf, stack: re.search(r"tcp_recvmsg|sock_recvmsg|__sys_recvfrom", stack)),
    ("open/stat/rename/mkdir", lambda leaf, stack: re.search(
        r"do_sys_open|openat|statx|do_renameat|mkdir|unlink|newfstat|getdents", stack)),
    ("ext4 writeback / block I/O", lambda leaf, stack: re.search(
        r"mpage_|ext4_writepages|blk_|virtblk|iowrite", stack)),
    ("user-space memcpy/memmove", lambda leaf, stack: re.search(r"__mem(cpy|move)_", leaf)
        and not leaf.startswith("[k]")),
    ("allocator", lambda leaf, stack: re.search(
        r"malloc|_int_free|cfree|__rust_alloc|__rust_dealloc|realloc", leaf)),
    ("thread hand-offs: spawn_blocking, wake-ups, epoll, futex", lambda leaf, stack: re.search(
        r"futex|schedule|finish_task_switch|epoll|softirq|try_to_wake_up|park|unpark|"
        r"sched_yield|spin_unlock", stack)),
    ("tracing", lambda leaf, stack: "tracing" in stack),
    ("HTTP (hyper/axum)", lambda leaf, stack: re.search(r"hyper::|axum::|http::", stack)),
]


def frames(sample):
    out = []
    for line in sample[1:]:
        m = re.match(r"[0-9a-f]+\s+(.*)\s+\((.*)\)$", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    text = subprocess.run(
        ["perf", "script", "-i", sys.argv[1], "-F", "comm,tid,ip,sym,dso"],
        capture_output=True, text=True, check=True).stdout
    cats, threads, other, drill = (collections.Counter() for _ in range(4))
    n = 0
    for block in text.split("\n\n"):
        sample = [l.strip() for l in block.strip().split("\n") if l.strip()]
        if len(sample) < 2:
            continue
        fr = frames(sample)
        if not fr:
            continue
        n += 1
        threads[sample[0].split()[0]] += 1
        leaf = ("[k] " if "kernel" in fr[0][1] else "") + fr[0][0]
        stack = "\n".join(s for s, _ in fr)
        for name, test in CATEGORIES:
            if test(leaf, stack):
                break
        else:
            name = "other"
            other[leaf[:90]] += 1
        cats[name] += 1
        arca = [re.sub(r"<.*", "", s)[:60] for s, _ in fr if s.startswith(("arca::", "<arca::"))]
        drill[f"{name[:14]}: {' < '.join(arca[:2])}"] += 1
    print(f"{n} samples ({', '.join(f'{k} {v}' for k, v in threads.most_common(4))})")
    for k, v in cats.most_common():
        print(f"  {v * 100 / n:5.1f}%  {k}")
    if "-d" in sys.argv:
        print("  by category and innermost arca:: frames:")
        for k, v in drill.most_common(25):
            print(f"     {v * 100 / n:5.1f}%  {k}")
    if "-v" in sys.argv:
        print("  unclassified leaves:")
        for k, v in other.most_common(12):
            print(f"     {v * 100 / n:5.1f}%  {k}")


if __name__ == "__main__":
    main()
