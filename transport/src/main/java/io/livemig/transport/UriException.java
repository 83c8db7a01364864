package io.livemig.transport;

/** A migration URI that cannot be parsed; the message names the URI and what is wrong with it. */
public final class UriException extends IllegalArgumentException {
    private final String uri;

    public UriException(String uri, String problem) {
        super(problem);
        this.uri = uri;
    }

    /** The URI as given. */
    public String uri() {
        return uri;
    }
}
