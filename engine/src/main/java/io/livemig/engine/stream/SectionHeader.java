package io.livemig.engine.stream;

/**
 * A section header (spec 1.4) and its footer (1.5).
 *
 * <pre>
 * full header (START 0x01, FULL 0x04):
 *   +----+-------------+-----+-----------+-------------+------------+
 *   | ty | be32 sec id | u8 n| idstr (n) | be32 inst   | be32 ver   |
 *   +----+-------------+-----+-----------+-------------+------------+
 * short header (PART 0x02, END 0x03):
 *   +----+-------------+
 *   | ty | be32 sec id |
 *   +----+-------------+
 * footer (after every START/PART/END/FULL body):
 *   +----+-------------+
 *   | 7E | be32 sec id |
 *   +----+-------------+
 * </pre>
 *
 * @param idstr null for short headers
 */
public record SectionHeader(SectionType type, int sectionId, String idstr, int instanceId, int versionId) {

    public static SectionHeader full(SectionType type, int sectionId, String idstr, int instanceId, int versionId) {
        return new SectionHeader(type, sectionId, idstr, instanceId, versionId);
    }

    public static SectionHeader part(int sectionId) {
        return new SectionHeader(SectionType.SECTION_PART, sectionId, null, 0, 0);
    }

    public static SectionHeader end(int sectionId) {
        return new SectionHeader(SectionType.SECTION_END, sectionId, null, 0, 0);
    }

    public boolean isFull() {
        return type == SectionType.SECTION_START || type == SectionType.SECTION_FULL;
    }

    public void write(StreamWriter w) {
        w.u8(type.code());
        w.be32(sectionId);
        if (isFull()) {
            w.countedString(idstr);
            w.be32(instanceId);
            w.be32(versionId);
        }
    }

    /** Reads the rest of a header whose type byte has already been consumed. */
    public static SectionHeader readAfterType(StreamReader r, SectionType type) {
        int id = r.be32("section.id");
        if (type == SectionType.SECTION_START || type == SectionType.SECTION_FULL) {
            String idstr = r.countedString("section.idstr", false);
            int instance = r.be32("section.instance_id");
            int version = r.be32("section.version_id");
            return new SectionHeader(type, id, idstr, instance, version);
        }
        return new SectionHeader(type, id, null, 0, 0);
    }

    public static void writeFooter(StreamWriter w, int sectionId) {
        w.u8(SectionType.SECTION_FOOTER.code());
        w.be32(sectionId);
    }

    /** Reads and checks the footer of section {@code sectionId} ({@code idstr} only for messages). */
    public static void readFooter(StreamReader r, int sectionId, String idstr) {
        long at = r.position();
        int b = r.u8("section.footer");
        if (b != SectionType.SECTION_FOOTER.code()) {
            throw new StreamFormatException("section.footer", StreamFormatException.hex(b),
                    "0x7e footer after the body of section " + sectionId + " (" + idstr
                            + "): the body is longer or shorter than its decoder expects", at);
        }
        at = r.position();
        int id = r.be32("section.footer.id");
        if (id != sectionId) {
            throw new StreamFormatException("section.footer.id", id & 0xFFFFFFFFL,
                    sectionId + " (the id of section " + idstr + ")", at);
        }
    }
}
