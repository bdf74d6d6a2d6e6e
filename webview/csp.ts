// Plotly adds <style> elements to <head> for its modebar and hover rules. The panel's CSP allows styles
// only from our stylesheet or with this page's nonce, so every <style> appended to <head> without a nonce
// gets the one the host put on the bootstrap script. Imported before plotly so its first injection is covered.
const nonce = (document.getElementById('headlight-bootstrap') as HTMLScriptElement | null)?.nonce ?? '';

if (nonce) {
  const head = document.head;
  const append = head.appendChild.bind(head);
  const insert = head.insertBefore.bind(head);
  const stamp = (n: Node) => {
    if (n instanceof HTMLStyleElement && !n.nonce) n.nonce = nonce;
  };
  head.appendChild = <T extends Node>(n: T): T => {
    stamp(n);
    return append(n);
  };
  head.insertBefore = <T extends Node>(n: T, ref: Node | null): T => {
    stamp(n);
    return insert(n, ref);
  };
}

export const pageNonce = nonce;
