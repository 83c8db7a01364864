package io.livemig.engine.process;

/** A bad {@code livemig run} command line; the message says which option and what was expected. */
public final class UsageException extends Exception {
    public UsageException(String message) {
        super(message);
    }
}
