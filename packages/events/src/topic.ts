/**
 * containerd's event topic rule (`events/exchange/exchange.go`, `validateTopic`).
 */
import { InvalidArgumentError, withContext } from "@containerts/errdefs";
import { quoteFilterString, validateIdentifier } from "@containerts/namespaces";

/**
 * Checks an event topic the way containerd's exchange does: not empty, starting with `/`, at least one
 * component, every `/`-separated component an identifier (`/tasks/exec-added` is valid, `/a//b` and
 * `/a/` are not).
 *
 * @throws InvalidArgumentError with containerd's wording: `must not be empty`, `must start with '/'`,
 *   `must have at least one component`, or `failed validation on component "c": identifier …`. Publish
 *   and Forward prefix it with `envelope topic "<topic>"`.
 */
export function validateTopic(topic: string): void {
  if (topic === "") throw new InvalidArgumentError("must not be empty");
  if (!topic.startsWith("/")) throw new InvalidArgumentError("must start with '/'");
  if (topic.length === 1) throw new InvalidArgumentError("must have at least one component");
  for (const component of topic.slice(1).split("/")) {
    try {
      validateIdentifier(component);
    } catch (err) {
      throw withContext(err, `failed validation on component ${quoteFilterString(component)}`);
    }
  }
}
