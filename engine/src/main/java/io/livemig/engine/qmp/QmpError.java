package io.livemig.engine.qmp;

import java.util.Map;

/**
 * A command failure as QMP reports it: {@code {"error": {"class": "GenericError", "desc": "..."}}}.
 * Classes are QEMU's: GenericError, CommandNotFound, DeviceNotActive, DeviceNotFound, KVMMissingCap.
 */
public final class QmpError extends Exception {
    public static final String GENERIC = "GenericError";
    public static final String COMMAND_NOT_FOUND = "CommandNotFound";

    private final String errorClass;

    public QmpError(String errorClass, String desc) {
        super(desc, null, false, false);
        this.errorClass = errorClass;
    }

    /** A GenericError with {@code desc}. */
    public static QmpError generic(String desc) {
        return new QmpError(GENERIC, desc);
    }

    public String errorClass() {
        return errorClass;
    }

    public String desc() {
        return getMessage();
    }

    /** The {@code "error"} member's value. */
    public Map<String, Object> toJson() {
        return Json.obj("class", errorClass, "desc", getMessage());
    }
}
