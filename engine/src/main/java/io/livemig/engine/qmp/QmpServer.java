package io.livemig.engine.qmp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A QEMU-compatible QMP server on a Unix socket: greeting, {@code qmp_capabilities} negotiation,
 * {@code execute}/{@code arguments}/{@code id}, {@code return}/{@code error} replies and timestamped
 * events, byte-compatible with QEMU 7.2's output (member order, spacing, {@code \r\n}).
 *
 * <p>Threads: one {@code qmp-server} thread accepts clients one after another and runs every command
 * handler; per client one {@code qmp-writer} thread owns the socket's write side. Replies and events go
 * through a bounded queue to the writer, so neither the QMP thread nor an event source (vCPU, migration
 * thread) ever blocks on a slow client's socket; events that find the queue full are dropped with a
 * warning, replies wait.
 */
public final class QmpServer implements AutoCloseable {
    /** Output queue depth per client. */
    static final int OUTPUT_QUEUE_MESSAGES = 4096;
    private static final String CLOSE_MARK = "\0close";

    private final Path socketPath;
    private final String packageName;
    private final Map<String, QmpCommand> commands = new ConcurrentHashMap<>();
    private final ServerSocketChannel server;
    private final Thread thread;
    /** The connected client, or null; written by the QMP thread, read by event sources. */
    private volatile Connection current;
    private volatile boolean closed;
    /** Set by a handler on the QMP thread, run by it after that command's reply is queued. */
    private Runnable afterReply;

    /**
     * Binds {@code socketPath} now (replacing a stale socket file) so a client may connect as soon as
     * this returns; {@link #start()} begins serving.
     */
    public QmpServer(Path socketPath, String packageName) throws IOException {
        this.socketPath = socketPath;
        this.packageName = packageName;
        this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            Files.deleteIfExists(socketPath);
            server.bind(UnixDomainSocketAddress.of(socketPath), 1);
        } catch (IOException e) {
            server.close();
            throw new IOException("Failed to bind socket to '" + socketPath + "': " + e.getMessage(), e);
        }
        this.thread = new Thread(this::serve, "qmp-server");
        this.thread.setDaemon(true);
    }

    public Path socketPath() {
        return socketPath;
    }

    /** Adds a command; names are QEMU's (or {@code x-livemig-...}). */
    public void register(QmpCommand command) {
        if (commands.putIfAbsent(command.name(), command) != null) {
            throw new IllegalStateException("QMP command " + command.name() + " registered twice");
        }
    }

    public void register(String name, QmpType.Struct arguments, QmpCommand.Handler handler) {
        register(new QmpCommand(name, arguments, handler));
    }

    /**
     * Runs {@code action} once the reply of the command now executing is queued (so {@code quit} can
     * reply before the process ends). Only from a command handler.
     */
    public void afterCurrentReply(Runnable action) {
        if (Thread.currentThread() != thread) throw new IllegalStateException("only from a QMP command handler");
        afterReply = action;
    }

    public void start() {
        thread.start();
    }

    /**
     * Sends an event to the connected, negotiated client (dropped if none), stamped now. Any thread.
     *
     * @param data the {@code "data"} member, or null for none
     */
    public void emitEvent(String name, Map<String, Object> data) {
        Connection c = current;
        if (c == null || !c.negotiated) return;
        Instant now = Instant.now();
        Map<String, Object> ev = Json.obj(
                "timestamp", Json.obj("seconds", now.getEpochSecond(), "microseconds", (long) (now.getNano() / 1000)),
                "event", name);
        if (data != null) ev.put("data", data);
        if (!c.output.offer(Json.write(ev))) {
            System.err.println("livemig: QMP client not reading; dropped event " + name);
        }
    }

    private void serve() {
        while (!closed) {
            SocketChannel sc;
            try {
                sc = server.accept();
            } catch (IOException e) {
                if (!closed) System.err.println("livemig: QMP accept failed: " + e.getMessage());
                return;
            }
            Connection c = new Connection(sc);
            current = c;
            try {
                c.run();
            } catch (IOException e) {
                // The client went away mid-message; wait for the next one, as QEMU does.
            } finally {
                current = null;
                c.close();
            }
        }
    }

    private final class Connection {
        final SocketChannel socket;
        final BlockingQueue<String> output = new ArrayBlockingQueue<>(OUTPUT_QUEUE_MESSAGES);
        final Thread writer;
        /** Set on the QMP thread after qmp_capabilities; read by event sources. */
        volatile boolean negotiated;

        Connection(SocketChannel socket) {
            this.socket = socket;
            this.writer = new Thread(this::writeLoop, "qmp-writer");
            this.writer.setDaemon(true);
            this.writer.start();
        }

        void run() throws IOException {
            send(Json.obj("QMP", Json.obj(
                    "version", Json.obj("qemu", Json.obj("micro", 0L, "minor", 2L, "major", 7L),
                            "package", packageName),
                    "capabilities", List.of("oob"))));
            JsonStreamSplitter in = new JsonStreamSplitter(new BufferedReader(
                    new InputStreamReader(Channels.newInputStream(socket), StandardCharsets.UTF_8)));
            String text;
            while (!closed && (text = in.next()) != null) {
                Map<String, Object> reply = dispatch(text);
                if (reply != null) send(reply);
                Runnable r = afterReply;
                afterReply = null;
                if (r != null) r.run();
            }
        }

        void send(Map<String, Object> msg) {
            try {
                output.put(Json.write(msg));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void writeLoop() {
            try {
                while (true) {
                    String s = output.take();
                    if (s == CLOSE_MARK) return;
                    ByteBuffer b = StandardCharsets.UTF_8.encode(s + "\r\n");
                    while (b.hasRemaining()) socket.write(b);
                }
            } catch (IOException | InterruptedException e) {
                // The client left; the reader side sees it too.
            }
        }

        Map<String, Object> dispatch(String text) {
            Object parsed;
            try {
                parsed = Json.parse(text);
            } catch (Json.ParseException e) {
                return Json.obj("error", QmpError.generic(e.getMessage()).toJson());
            }
            if (!(parsed instanceof Map<?, ?> raw)) {
                return Json.obj("error", QmpError.generic("QMP input must be a JSON object").toJson());
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) raw;
            Object id = m.get("id");
            boolean hasId = m.containsKey("id");
            try {
                String name = checkRequest(m);
                Object result = execute(name, m.get("arguments"));
                Map<String, Object> reply = Json.obj("return", result);
                if (hasId) reply.put("id", id);
                return reply;
            } catch (QmpError e) {
                Map<String, Object> reply = Json.obj();
                if (hasId) reply.put("id", id);
                reply.put("error", e.toJson());
                return reply;
            }
        }

        private String checkRequest(Map<String, Object> m) throws QmpError {
            for (Map.Entry<String, Object> e : m.entrySet()) {
                switch (e.getKey()) {
                    case "execute" -> {
                        if (!(e.getValue() instanceof String)) {
                            throw QmpError.generic("QMP input member 'execute' must be a string");
                        }
                    }
                    case "arguments" -> {
                        if (!(e.getValue() instanceof Map)) {
                            throw QmpError.generic("QMP input member 'arguments' must be an object");
                        }
                    }
                    case "id" -> {
                    }
                    default -> throw QmpError.generic("QMP input member '" + e.getKey() + "' is unexpected");
                }
            }
            if (!m.containsKey("execute")) throw QmpError.generic("Expected 'execute' in QMP input");
            return (String) m.get("execute");
        }

        private Object execute(String name, Object arguments) throws QmpError {
            if (!negotiated && !name.equals("qmp_capabilities")) {
                throw new QmpError(QmpError.COMMAND_NOT_FOUND,
                        "Expecting capabilities negotiation with 'qmp_capabilities'");
            }
            if (name.equals("qmp_capabilities")) {
                if (negotiated) {
                    throw new QmpError(QmpError.COMMAND_NOT_FOUND,
                            "Capabilities negotiation is already complete, command ignored");
                }
                QmpType.Struct.of(QmpType.Field.opt("enable",
                                new QmpType.Array(new QmpType.Enum("QMPCapability", List.of("oob")))))
                        .check("", "", arguments == null ? Map.of() : arguments);
                negotiated = true;
                return Json.obj();
            }
            QmpCommand c = commands.get(name);
            if (c == null) throw new QmpError(QmpError.COMMAND_NOT_FOUND, "The command " + name + " has not been found");
            @SuppressWarnings("unchecked")
            Map<String, Object> args = c.arguments() == null
                    ? (arguments == null ? Map.of() : (Map<String, Object>) arguments)
                    : c.arguments().check("", "", arguments == null ? Map.of() : arguments);
            try {
                Object r = c.handler().handle(new QmpCommand.Args(args));
                return r == null ? Json.obj() : r;
            } catch (RuntimeException e) {
                // A bug in a handler must not take the monitor down; say what happened.
                return failInternal(name, e);
            }
        }

        private Object failInternal(String name, RuntimeException e) throws QmpError {
            System.err.println("livemig: QMP command " + name + " failed: " + e);
            e.printStackTrace();
            throw QmpError.generic(name + ": " + e.getMessage());
        }

        void close() {
            output.offer(CLOSE_MARK);
            try {
                writer.join(TimeUnit.SECONDS.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                socket.close();
            } catch (IOException e) {
                // already gone
            }
        }
    }

    /**
     * Stops serving: pending replies and events are written (up to 2 s), the client is disconnected and
     * the socket file removed. Any thread; idempotent.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Connection c = current;
        try {
            server.close();
        } catch (IOException e) {
            // nothing to release
        }
        if (c != null) c.close();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(socketPath);
        } catch (IOException e) {
            // stale file only
        }
    }
}
