package io.livemig.memory;

/**
 * Huge pages were asked for but the host has not reserved enough. The message says how many pages of
 * which size are needed, how many are free, and the command that reserves them, e.g.
 * {@code sysctl vm.nr_hugepages=128}.
 */
public final class HugePagesUnavailableException extends IllegalStateException {
    private final long pageSizeBytes;
    private final long pagesNeeded;
    private final long pagesAvailable;
    private final String reserveCommand;

    HugePagesUnavailableException(String message, long pageSizeBytes, long pagesNeeded, long pagesAvailable,
                                  String reserveCommand) {
        super(message);
        this.pageSizeBytes = pageSizeBytes;
        this.pagesNeeded = pagesNeeded;
        this.pagesAvailable = pagesAvailable;
        this.reserveCommand = reserveCommand;
    }

    public long pageSizeBytes() {
        return pageSizeBytes;
    }

    /** Pages of {@link #pageSizeBytes()} the requested blocks need together. */
    public long pagesNeeded() {
        return pagesNeeded;
    }

    /** Pages free and not already promised to another mapping when the check ran. */
    public long pagesAvailable() {
        return pagesAvailable;
    }

    /** What to run as root to reserve enough, e.g. {@code sysctl vm.nr_hugepages=128}. */
    public String reserveCommand() {
        return reserveCommand;
    }
}
