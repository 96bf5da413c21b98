"""A loopback SMTP server playing the remote side of outbound delivery, for
the integration tests.

mode: "accept" answers 250 and records the message, "drop" closes the
connection after part of the DATA content, "stall" reads it and never
answers. binary: CHUNKING and BINARYMIME are offered and BDAT is taken
(RFC 3030), otherwise only 8BITMIME. `messages` holds (MAIL command line,
content) for each recorded message, the content as received (DATA
dot-stuffed with its final dot; BDAT octets as they are); `received` the
contents alone.
"""

import socket
import threading

from harness import free_port


class Peer:
    def __init__(self, mode="drop", binary=False):
        self.port = free_port()
        self.mode = mode
        self.binary = binary
        self.messages = []
        self.connections = 0
        self.stalled = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for c in self.stalled:
            c.close()
        self.sock.close()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    @property
    def received(self):
        return [data for _, data in self.messages]

    def record(self, mail, data):
        self.messages.append((mail, data))

    def session(self, conn):
        conn.settimeout(30)
        f = conn.makefile("rb")
        mail = b""
        try:
            conn.sendall(b"220 peer.example ESMTP\r\n")
            while True:
                line = f.readline(4096)
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    ext = b"250-CHUNKING\r\n250-BINARYMIME\r\n" if self.binary else b""
                    conn.sendall(b"250-peer.example\r\n" + ext + b"250 8BITMIME\r\n")
                elif verb == b"MAIL":
                    mail = line.strip()
                    conn.sendall(b"250 2.0.0 ok\r\n")
                elif verb == b"BDAT" and self.binary:
                    self.record(mail, f.read(int(line.split()[1])))
                    conn.sendall(b"250 2.0.0 queued here\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    mode = self.mode
                    if mode == "drop":
                        f.readline(4096)
                        conn.shutdown(socket.SHUT_RDWR)
                        return
                    data = b""
                    while not data.endswith(b"\r\n.\r\n"):
                        part = f.readline(1 << 20)
                        if not part:
                            return
                        data += part
                    if mode == "stall":
                        self.stalled.append(conn)
                        conn = None
                        return
                    self.record(mail, data)
                    conn.sendall(b"250 2.0.0 queued here\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            return
        finally:
            if conn is not None:
                conn.close()
