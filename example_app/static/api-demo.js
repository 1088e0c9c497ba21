// The API demo page: a client of the shop's JSON API that carries its
// session in a header, never in a cookie.
//
// The API answers the signed session id in its header whenever the session
// gets a new one (a login, the first change, a rotation) and answers it
// empty when the session is cleared. The script keeps the last value in
// sessionStorage (it lives as long as the tab, and survives a reload) and
// sends it back in the same header; fetch leaves cookies out both ways.
(() => {
  "use strict";

  const STORAGE_KEY = "api-demo-session";
  const root = document.getElementById("api-demo");
  const api = root.dataset.api;
  const header = root.dataset.header;
  const user = document.getElementById("api-user");
  const tokenNote = document.getElementById("api-token");
  const message = document.getElementById("api-message");
  const cart = document.getElementById("api-cart");
  const lastAnswer = document.getElementById("api-answer");

  let token = sessionStorage.getItem(STORAGE_KEY) || "";

  function keep(answered) {
    token = answered;
    if (token) {
      sessionStorage.setItem(STORAGE_KEY, token);
    } else {
      sessionStorage.removeItem(STORAGE_KEY);
    }
  }

  async function call(method, path, payload) {
    const headers = { Accept: "application/json" };
    if (token) {
      headers[header] = token;
    }
    const options = { method, headers, credentials: "omit" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    const response = await fetch(api + path, options);
    const answered = response.headers.get(header);
    if (answered !== null) {
      keep(answered);
    }
    let data;
    try {
      data = await response.json();
    } catch {
      data = { error: `${response.status} ${response.statusText}` };
    }
    lastAnswer.textContent =
      `${method} ${api}${path}: ${response.status}\n` + JSON.stringify(data, null, 2);
    if (!response.ok) {
      throw new Error(data.error || `${response.status} ${response.statusText}`);
    }
    show(data);
    return data;
  }

  function show(data) {
    user.textContent = data.user ? `Logged in as ${data.user}` : "Not logged in";
    root.dataset.user = data.user || "";
    tokenNote.textContent = token
      ? `(this tab keeps a session in ${header})`
      : "(no session in this tab)";
    cart.replaceChildren(
      ...data.cart.map((line) => {
        const item = document.createElement("li");
        item.dataset.product = line.product;
        const quantity = document.createElement("span");
        quantity.className = "quantity";
        quantity.textContent = String(line.quantity);
        item.append(quantity, ` x ${line.name}`);
        return item;
      }),
    );
    if (!data.cart.length) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "The cart is empty.";
      cart.append(empty);
    }
  }

  function say(text, isError = false) {
    message.textContent = text;
    message.className = isError ? "error" : "";
  }

  function handle(action) {
    return async (event) => {
      event.preventDefault();
      try {
        say(await action(event));
      } catch (error) {
        say(error.message, true);
      }
    };
  }

  document.getElementById("api-login").addEventListener(
    "submit",
    handle(async (event) => {
      const name = event.target.elements.name.value;
      const data = await call("POST", "/login", { name });
      event.target.reset();
      return `Welcome, ${data.user}!`;
    }),
  );

  for (const button of root.querySelectorAll("button.api-add")) {
    button.addEventListener(
      "click",
      handle(async () => {
        await call("POST", "/cart", { product: button.dataset.product });
        return "Added to the cart.";
      }),
    );
  }

  document.getElementById("api-logout").addEventListener(
    "submit",
    handle(async () => {
      await call("POST", "/logout");
      return "Logged out.";
    }),
  );

  call("GET", "/me").catch((error) => say(error.message, true));
})();
