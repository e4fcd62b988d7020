import { describe, expect, it } from "vitest";
import { formatTable, narrow, wide, tabbed } from "./tabwriter.js";

describe("formatTable (Go text/tabwriter semantics)", () => {
  it("aligns terminated cells and leaves the last cell alone", () => {
    const t = "TYPE\tID\tPLATFORMS\tSTATUS\t\nio.containerd.content.v1\tcontent\t-\tok\t\n";
    expect(formatTable(t, wide)).toBe(
      "TYPE                        ID         PLATFORMS    STATUS    \n" +
        "io.containerd.content.v1    content    -            ok        \n",
    );
  });

  it("computes widths per block of consecutive lines", () => {
    const t = "a\tb\nlonger\tc\nx\ny\tz\n";
    expect(formatTable(t, narrow)).toBe("a      b\nlonger c\nx\ny z\n");
  });

  it("pads with tabs when padchar is a tab", () => {
    const t = "DIGEST\tSIZE\tAGE\tLABELS\nsha256:abc\t1MiB\t1 second\t\n";
    expect(formatTable(t, tabbed)).toBe("DIGEST\t\tSIZE\tAGE\t\tLABELS\nsha256:abc\t1MiB\t1 second\t\n");
  });

  it("matches ctr ns ls layout", () => {
    const t = "NAME\tLABELS\t\ndefault\t\t\nns1\tx=y\t\n";
    expect(formatTable(t, narrow)).toBe("NAME    LABELS \ndefault        \nns1     x=y    \n");
  });
});
