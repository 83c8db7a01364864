package io.livemig.engine.qmp;

import java.util.Map;

/**
 * One QMP command: its name, its argument schema and the handler that runs on the QMP thread.
 * A handler returns the {@code "return"} value (a {@code Map} for {@code {}}, a {@code List}, ...)
 * or throws {@link QmpError}. Long work (a migration) belongs on its own thread; the handler only starts it.
 */
public record QmpCommand(String name, QmpType.Struct arguments, Handler handler) {
    // arguments == null: any object is passed through and the handler checks it (migrate-set-parameters).

    @FunctionalInterface
    public interface Handler {
        Object handle(Args args) throws QmpError;
    }

    /** Validated arguments with typed getters. */
    public record Args(Map<String, Object> values) {
        public String str(String name) {
            return (String) values.get(name);
        }

        public long lng(String name) {
            return (Long) values.get(name);
        }

        public boolean bool(String name, boolean dflt) {
            Object v = values.get(name);
            return v == null ? dflt : (Boolean) v;
        }

        public boolean has(String name) {
            return values.containsKey(name);
        }

        public Object get(String name) {
            return values.get(name);
        }
    }
}
