window.env = { apiUrl: "https://api.example.com" };
