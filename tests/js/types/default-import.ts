// The default export of the ESM entries is the object of the five functions.
import syncgate from "syncgate";

const digest: string = syncgate.contentDigest("hello");
void digest;
