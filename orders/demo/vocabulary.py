"""The fixed word lists demo products, people and addresses are built from."""

from typing import NamedTuple


class Leaf(NamedTuple):
    """A second-level category and the words its product names use."""

    name: str
    nouns: tuple[str, ...]
    features: tuple[str, ...]
    sizes: tuple[str, ...] | None = None  # None: the department's sizes


class Department(NamedTuple):
    """A top-level category: brands, materials and price level of its products."""

    name: str
    brands: tuple[str, ...]
    materials: tuple[str, ...]
    median_price: float
    median_weight_g: int
    sizes: tuple[str, ...]
    leaves: tuple[Leaf, ...]


CLOTHING_SIZES = ("XS", "S", "M", "L", "XL")
SHOE_SIZES = ("38", "39", "40", "41", "42", "43", "44", "45")

CATEGORY_TREE: tuple[Department, ...] = (
    Department(
        name="Electronics",
        brands=("Auralis", "Voltix", "Nordwave", "Lumetra", "Kestrel", "Sonique"),
        materials=("aluminium", "matte polymer", "recycled plastic", "glass"),
        median_price=120,
        median_weight_g=350,
        sizes=(),
        leaves=(
            Leaf(
                "Headphones",
                ("Headphones", "Earbuds", "Headset", "Earphones"),
                ("Wireless", "Noise-Cancelling", "Over-Ear", "Studio", "Sport"),
            ),
            Leaf(
                "Smartphones",
                ("Smartphone", "Phone Case", "Screen Protector", "Charger"),
                ("5G", "Dual-SIM", "Rugged", "Compact", "Fast-Charging"),
            ),
            Leaf(
                "Laptops",
                ("Laptop", "Ultrabook", "Laptop Stand", "Docking Station"),
                ("14-inch", "16-inch", "Lightweight", "Gaming", "Convertible"),
            ),
            Leaf(
                "Cameras",
                ("Camera", "Action Camera", "Lens", "Tripod"),
                ("Mirrorless", "4K", "Compact", "Waterproof", "Full-Frame"),
            ),
            Leaf(
                "Smart Home",
                ("Smart Speaker", "Smart Plug", "Video Doorbell", "Thermostat"),
                ("Wi-Fi", "Voice-Controlled", "Energy-Saving", "Matter-Ready"),
            ),
            Leaf(
                "Wearables",
                ("Smartwatch", "Fitness Tracker", "Watch Strap"),
                ("GPS", "Waterproof", "Slim", "Solar"),
            ),
        ),
    ),
    Department(
        name="Home & Kitchen",
        brands=("Hearthwell", "Oakline", "Casa Nova", "Mira Home", "Brightnest"),
        materials=("oak", "walnut", "stainless steel", "cast iron", "ceramic", "linen"),
        median_price=45,
        median_weight_g=1800,
        sizes=(),
        leaves=(
            Leaf(
                "Cookware",
                ("Frying Pan", "Saucepan", "Dutch Oven", "Wok", "Knife Set"),
                ("Non-Stick", "Induction-Ready", "Professional", "Enamelled"),
            ),
            Leaf(
                "Furniture",
                ("Coffee Table", "Bookshelf", "Armchair", "Side Table", "Desk"),
                ("Mid-Century", "Scandinavian", "Foldable", "Solid"),
            ),
            Leaf(
                "Bedding",
                ("Duvet Cover", "Pillow", "Throw Blanket", "Sheet Set"),
                ("Organic", "Hypoallergenic", "Weighted", "Cooling"),
            ),
            Leaf(
                "Lighting",
                ("Floor Lamp", "Desk Lamp", "Pendant Light", "String Lights"),
                ("Dimmable", "LED", "Industrial", "Rechargeable"),
            ),
            Leaf(
                "Storage",
                ("Storage Box", "Shoe Rack", "Laundry Basket", "Drawer Organiser"),
                ("Stackable", "Collapsible", "Modular", "Woven"),
            ),
        ),
    ),
    Department(
        name="Fashion",
        brands=("Northbound", "Velour & Co", "Urban Thread", "Maison Lark"),
        materials=("cotton", "merino wool", "denim", "leather", "linen"),
        median_price=40,
        median_weight_g=400,
        sizes=CLOTHING_SIZES,
        leaves=(
            Leaf(
                "Men's Clothing",
                ("T-Shirt", "Oxford Shirt", "Chinos", "Hoodie", "Jacket"),
                ("Slim-Fit", "Relaxed", "Classic", "Heavyweight"),
            ),
            Leaf(
                "Women's Clothing",
                ("Dress", "Blouse", "Cardigan", "Jeans", "Trench Coat"),
                ("Wrap", "High-Rise", "Oversized", "Tailored"),
            ),
            Leaf(
                "Shoes",
                ("Sneakers", "Boots", "Loafers", "Sandals"),
                ("Waterproof", "Low-Top", "Chelsea", "Trail"),
                SHOE_SIZES,
            ),
            Leaf(
                "Bags",
                ("Backpack", "Tote Bag", "Crossbody Bag", "Weekender"),
                ("Roll-Top", "Convertible", "Minimalist", "Travel"),
                (),
            ),
            Leaf(
                "Accessories",
                ("Scarf", "Belt", "Beanie", "Sunglasses", "Wallet"),
                ("Polarised", "Reversible", "Knitted", "Slim"),
                (),
            ),
        ),
    ),
    Department(
        name="Sports & Outdoors",
        brands=("Summit Peak", "Trailforge", "Velocita", "Bluewater", "Ironclad"),
        materials=("ripstop nylon", "aluminium", "carbon fibre", "neoprene"),
        median_price=50,
        median_weight_g=900,
        sizes=(),
        leaves=(
            Leaf(
                "Camping",
                ("Tent", "Sleeping Bag", "Camping Stove", "Headlamp"),
                ("Ultralight", "2-Person", "4-Season", "Compact"),
            ),
            Leaf(
                "Cycling",
                ("Bike Helmet", "Bike Light", "Cycling Jersey", "Bike Lock"),
                ("Aero", "Rechargeable", "Reflective", "Heavy-Duty"),
            ),
            Leaf(
                "Fitness",
                ("Yoga Mat", "Dumbbell Set", "Resistance Bands", "Kettlebell"),
                ("Non-Slip", "Adjustable", "Extra-Thick", "Pro"),
            ),
            Leaf(
                "Running",
                ("Running Shorts", "Running Vest", "Hydration Pack", "Running Cap"),
                ("Breathable", "Lightweight", "Reflective", "Trail"),
            ),
        ),
    ),
    Department(
        name="Books & Media",
        brands=("Penrose Press", "Inkwell", "Harbor Books", "Red Kite"),
        materials=("paperback", "hardcover", "180g vinyl", "recycled paper"),
        median_price=15,
        median_weight_g=450,
        sizes=(),
        leaves=(
            Leaf(
                "Fiction",
                ("Novel", "Thriller", "Short Story Collection", "Fantasy Saga"),
                ("Award-Winning", "Bestselling", "Illustrated", "Collector's"),
            ),
            Leaf(
                "Non-Fiction",
                ("Biography", "Cookbook", "History", "Travel Guide"),
                ("Illustrated", "Updated", "Essential", "Pocket"),
            ),
            Leaf(
                "Comics",
                ("Graphic Novel", "Manga Volume", "Comic Omnibus"),
                ("Deluxe", "Full-Colour", "First-Edition", "Box-Set"),
            ),
            Leaf(
                "Vinyl Records",
                ("LP", "Double LP", "Single", "Box Set"),
                ("Remastered", "Live", "Limited", "Anniversary"),
            ),
        ),
    ),
    Department(
        name="Toys & Games",
        brands=("Bricktopia", "Playwise", "Funforge", "Little Atlas"),
        materials=("wood", "cardboard", "ABS plastic", "plush"),
        median_price=25,
        median_weight_g=600,
        sizes=(),
        leaves=(
            Leaf(
                "Board Games",
                ("Board Game", "Card Game", "Strategy Game", "Party Game"),
                ("Family", "Cooperative", "Two-Player", "Classic"),
            ),
            Leaf(
                "Puzzles",
                ("Jigsaw Puzzle", "3D Puzzle", "Brain Teaser"),
                ("1000-Piece", "500-Piece", "Panoramic", "Wooden"),
            ),
            Leaf(
                "Building Sets",
                ("Building Set", "Construction Kit", "Marble Run"),
                ("Starter", "Deluxe", "Motorised", "Creative"),
            ),
            Leaf(
                "Outdoor Toys",
                ("Kite", "Water Blaster", "Scooter", "Flying Disc"),
                ("Stunt", "Foldable", "Glow-in-the-Dark", "Junior"),
            ),
        ),
    ),
    Department(
        name="Beauty & Health",
        brands=("Lumière", "Purely", "Verdant", "Aurora Labs", "Nordic Glow"),
        materials=("aloe vera", "argan oil", "shea butter", "vitamin C"),
        median_price=20,
        median_weight_g=250,
        sizes=(),
        leaves=(
            Leaf(
                "Skincare",
                ("Face Serum", "Moisturiser", "Cleanser", "Sunscreen", "Face Mask"),
                ("Hydrating", "Brightening", "Fragrance-Free", "Overnight"),
            ),
            Leaf(
                "Hair Care",
                ("Shampoo", "Conditioner", "Hair Oil", "Hair Dryer"),
                ("Repairing", "Volumising", "Sulfate-Free", "Ionic"),
            ),
            Leaf(
                "Fragrance",
                ("Eau de Parfum", "Eau de Toilette", "Body Mist", "Scented Candle"),
                ("Citrus", "Woody", "Floral", "Amber"),
            ),
            Leaf(
                "Supplements",
                ("Multivitamin", "Protein Powder", "Omega-3 Capsules", "Magnesium"),
                ("Vegan", "Daily", "Sugar-Free", "High-Strength"),
            ),
        ),
    ),
    Department(
        name="Garden & Tools",
        brands=("Greenfield", "Toolcraft", "Rootwise", "Hammerhead", "Terrace & Co"),
        materials=("steel", "ash wood", "fibreglass", "galvanised steel", "teak"),
        median_price=60,
        median_weight_g=2500,
        sizes=(),
        leaves=(
            Leaf(
                "Power Tools",
                ("Cordless Drill", "Circular Saw", "Angle Grinder", "Impact Driver"),
                ("18V", "Brushless", "Compact", "Heavy-Duty"),
            ),
            Leaf(
                "Hand Tools",
                ("Hammer", "Screwdriver Set", "Wrench Set", "Utility Knife"),
                ("Ergonomic", "Magnetic", "Professional", "Precision"),
            ),
            Leaf(
                "Gardening",
                ("Pruning Shears", "Garden Hose", "Planter", "Watering Can"),
                ("Expandable", "Self-Watering", "Heavy-Duty", "Ergonomic"),
            ),
            Leaf(
                "Outdoor Furniture",
                ("Garden Bench", "Patio Set", "Sun Lounger", "Hammock"),
                ("Weatherproof", "Folding", "Reclining", "Modular"),
            ),
        ),
    ),
)

ADJECTIVES = ("Classic", "Premium", "Everyday", "Essential", "Modern", "Vintage")
COLORS = ("Black", "White", "Navy", "Graphite", "Sage", "Sand", "Red", "Olive")
DESCRIPTION_EXTRAS = (
    "Designed for everyday use and built to last.",
    "Weighs {weight} g.",
    "Available in {color}.",
    "Ships within {days} business days.",
    "Backed by a {years}-year warranty.",
    "Easy to clean and simple to store.",
)

FIRST_NAMES = (
    "Amelia", "Ben", "Chloe", "Daniel", "Elena", "Felix", "Grace", "Hugo", "Isla",
    "Jonas", "Kara", "Leo", "Maya", "Nina", "Omar", "Priya", "Quentin", "Rosa",
    "Sven", "Tara", "Umar", "Vera", "Wes", "Yara", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen",
    "Ito", "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Patel",
    "Quinn", "Rossi", "Silva", "Tanaka", "Urban", "Vogel", "Walsh", "Young",
)  # fmt: skip
STREETS = ("Main Street", "Oak Avenue", "Mill Lane", "Station Road", "Park Road")
# (city, postal code pattern, country); the country sets the order currency.
CITIES = (
    ("Portland", "972{:02d}", "US"),
    ("Austin", "787{:02d}", "US"),
    ("Chicago", "606{:02d}", "US"),
    ("Boston", "021{:02d}", "US"),
    ("Denver", "802{:02d}", "US"),
    ("Seattle", "981{:02d}", "US"),
    ("Manchester", "M{} 4BT", "GB"),
    ("Berlin", "101{:02d}", "DE"),
    ("Lyon", "690{:02d}", "FR"),
    ("Utrecht", "35{:02d} AB", "NL"),
)
COUNTRY_CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "NL": "EUR"}
