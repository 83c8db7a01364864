package io.livemig.engine.multifd;

import java.io.IOException;

/**
 * A multifd channel failed (I/O error, bad input from the peer, a peer that went away, a wait that timed
 * out). The message names the channel and what happened; the cause is the original exception (a
 * {@link io.livemig.engine.stream.StreamFormatException} for bad input).
 */
public final class MultifdException extends IOException {
    public MultifdException(String message, Throwable cause) {
        super(message, cause);
    }

    public MultifdException(String message) {
        super(message);
    }
}
