"""CPU floor of a blob upload/download on this machine: one process receives (or sends) 512 MiB
over loopback TCP with 1 MiB buffers, like a registry would, and reports its own CPU time."""
import hashlib, os, socket, sys, time, resource, multiprocessing
SIZE = 512 << 20
BUF = 1 << 20
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
def sender(port, size):
    s = socket.create_connection(("127.0.0.1", port)); b = os.urandom(BUF); left = size
    while left: n = min(left, BUF); s.sendall(b[:n]); left -= n
    s.close()
def receiver(port, size):
    s = socket.create_connection(("127.0.0.1", port)); buf = bytearray(BUF); got = 0
    while True:
        n = s.recv_into(buf)
        if not n: break
        got += n
def upload(mode, path):
    ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1); port = ls.getsockname()[1]
    p = multiprocessing.Process(target=sender, args=(port, SIZE)); p.start()
    c, _ = ls.accept(); buf = bytearray(BUF); mv = memoryview(buf); h = hashlib.sha256()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t0 = cpu(); w0 = time.time(); got = 0
    while True:
        n = c.recv_into(buf)
        if not n: break
        got += n
        if 'hash' in mode: h.update(mv[:n])
        if 'write' in mode: os.write(fd, mv[:n])
    if 'fsync' in mode: os.fsync(fd)
    t = cpu() - t0; os.close(fd); p.join()
    return t / (got / 1e9)
def download(mode, path):
    ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1); port = ls.getsockname()[1]
    p = multiprocessing.Process(target=receiver, args=(port, SIZE)); p.start()
    c, _ = ls.accept(); fd = os.open(path, os.O_RDONLY); buf = bytearray(BUF); mv = memoryview(buf)
    t0 = cpu(); sent = 0
    if mode == 'sendfile':
        while sent < SIZE: sent += os.sendfile(c.fileno(), fd, sent, SIZE - sent)
    else:
        while True:
            n = os.readv(fd, [buf])
            if not n: break
            c.sendall(mv[:n]); sent += n
    t = cpu() - t0; c.close(); os.close(fd); p.join()
    return t / (sent / 1e9)
if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/floor.bin"
    for mode in ["recv", "recv+hash", "recv+write", "recv+hash+write", "recv+hash+write+fsync"]:
        r = sorted(upload(mode, path) for _ in range(3)); print(f"upload   {mode:24s} {r[1]:.3f} CPU-s/GB (median of 3)")
    for mode in ["read+send", "sendfile"]:
        r = sorted(download(mode, path) for _ in range(3)); print(f"download {mode:24s} {r[1]:.3f} CPU-s/GB (median of 3)")
    os.unlink(path)
