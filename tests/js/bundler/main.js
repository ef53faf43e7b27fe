// A Vite app that uses the `syncgate` package by its name: it verifies the signed request the
// test wrote to request.json (and a copy with one byte changed) and shows the verdicts.
import { verifyRequest } from "syncgate";
import fixture from "./request.json";

const out = document.getElementById("verdict");
try {
  const verdict = verifyRequest(fixture.request, fixture.policy, fixture.now);
  const tampered = verifyRequest({ ...fixture.request, body: fixture.request.body.replace("Acme", "Acmf") }, fixture.policy, fixture.now);
  out.textContent = JSON.stringify({ verdict, tampered });
  out.dataset.state = "done";
} catch (error) {
  out.textContent = String(error?.stack ?? error);
  out.dataset.state = "error";
}
